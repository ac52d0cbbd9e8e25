"""Rules over the design's code facts (:mod:`evaluator.grounding.code`): defects a regular
expression over one passage cannot see, and the code that prevents them.

Each rule reads a :class:`~evaluator.grounding.subject.Subject` and returns hits on deciding
passages, the offending declaration or statement marked:

* ``float_money`` — a money or metered-quantity column or field, or one the demanding requirement
  says must be exact, declared ``float`` / ``DOUBLE PRECISION`` / ``REAL`` (binary floating point
  cannot hold 0.10 exactly);
* ``update_without_version`` / ``versioned_update`` — an ``UPDATE`` that changes a row without (or
  with) a version, ETag or timestamp predicate: without one, two concurrent edits silently lose one
  (the lost update of optimistic concurrency control);
* ``query_without_index`` / ``indexes_defined`` — a ``SELECT`` on a table the design declares whose
  filter no index, primary key or unique constraint leads with; the indexes the design declares;
* ``increment_without_dedup`` / ``dedup_key`` — a handler of messages that adds to a value in place
  (``balance = balance + :amount``) with no dedup key anywhere: a redelivery applies it twice; a
  primary or unique key over an event, message or idempotency id that makes redelivery harmless;
* ``unbounded_list_endpoint`` — a ``GET`` route that returns a list with no page size, or an
  unbounded one (no ``le=``);
* ``literal_secrets`` — a secret-named configuration key set to a literal value;
* ``tenant_missing`` — where the requirements demand tenant isolation, a cache key template or a
  query on a table with a tenant column that leaves the tenant out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from evaluator.documents.passages import Hit
from evaluator.documents.terms import content_stems, stem
from evaluator.grounding.code import Update
from evaluator.grounding.subject import Subject, unique

_MONEY = re.compile(
    r"(?:^|_)(?:amount|price|fee|fees|total|balance|cost|charge|payment|pay|salary|gross|net|tax|vat|wage|refund|"
    r"credit|debit|rate|tariff|premium|payout|settlement|invoice|kwh|wh|quantity|eur|usd|gbp|cents?|money|"
    r"subtotal|discount)(?:_|$)",
    re.IGNORECASE,
)
_FLOAT = re.compile(r"^(?:float\d?|double(?: precision)?|real|float4|float8|numeric\(\s*\)|sa\.float)\b", re.I)
_VERSION = re.compile(r"version|etag|revision|xmin|lock_?no|updated_at|modified_at|last_modified|seq(?:uence)?$", re.I)
_BOOKKEEPING = re.compile(r"^(?:updated_at|modified_at|last_modified|version|etag|revision)$", re.I)
_LIST_PARAMS = re.compile(r"^(?:limit|size|page_size|per_page|count|max_results|top|first|take)$", re.I)
_PAGING = re.compile(r"^(?:limit|size|page_size|per_page|count|max_results|top|first|take|cursor|after|page|offset)$")
_MESSAGING = re.compile(
    r"consum|handler|\bhandle_|\bon_\w+\(|listener|subscri|messages?\b|topic|redeliver|queue\b|\bmsg\b", re.I
)
_SAYS_DEDUP = re.compile(r"dedup|idempot|already (?:been )?(?:processed|applied|handled)|inbox|processed_\w+", re.I)
_TENANT_ALIAS = re.compile(r"\b(\w+?)s?\s*\(\s*tenants?\s*\)|\btenants?\s*\(\s*(\w+?)s?\s*\)", re.IGNORECASE)
_OTHERS_DATA = re.compile(r"\b(?:another|other) (\w+?)(?:'s|s'|s)? data\b", re.IGNORECASE)
_DEDUP = re.compile(r"idempot\w*|dedup\w*|event_id|message_id|request_id|delivery_id|\w*_event_id|source_ref", re.I)


# A requirement that says a quantity must be exact: "store temperatures with exact decimal precision of 0.01 °C".
_EXACT = re.compile(
    r"\bexact(?:ly)?\b|\bdecimal (?:precision|arithmetic|places?)\b|\bno (?:binary )?floating[- ]point\b", re.IGNORECASE
)


def float_money(s: Subject) -> list[Hit]:
    """Money and metered quantities in binary floating point (DDL, ORM and Pydantic fields), and any
    quantity that the demanding requirement says must be exact (``temp_c double precision`` where
    temperatures are to be stored "with exact decimal precision")."""
    exact = _exact_quantities(s.focus)
    found = []
    for c in s.facts.columns:
        named = _MONEY.search(c.name) or _names_one_of(c.name, exact)
        if named and _FLOAT.match(c.type.replace("mapped[", "").strip()):
            hit = s.at(c.line, c.text)
            if hit is not None:
                found.append(hit)
    return unique(found)


# Words of such a sentence that name no quantity: "shall store and compare … with exact decimal precision".
_NOT_QUANTITIES = frozenset(
    ("system", "store", "compar", "keep", "hold", "repres", "calcul", "comput", "exact", "decim", "precis",
     "number", "valu", "data", "field", "column", "type", "format", "arithmet", "round")
)  # fmt: skip


def _exact_quantities(requirement: str) -> list[str]:
    """Stems (4+ letters) of what the sentences of a requirement that demand exactness are about
    ("temperatures … with exact decimal precision": temperatur, degre, celsius); [] for any other."""
    sentences = [part for part in re.split(r"(?<=[.;])\s+", requirement) if _EXACT.search(part)]
    stems = [w for part in sentences for w in content_stems(part)]
    return [w for w in stems if len(w) >= 4 and w.isalpha() and w not in _NOT_QUANTITIES]


def _names_one_of(name: str, stems: list[str]) -> bool:
    """Whether an identifier's parts (4+ letters) name one of the stems, abbreviated or not: ``temp_c``
    names "temperatur", ``amount_eur`` names "amount"."""
    parts = [p for p in re.split(r"[\W_]+", name.lower()) if len(p) >= 4]
    return any(w.startswith(p) or p.startswith(w) for p in parts for w in stems)


def _overwrites(u: Update) -> bool:
    """Whether an UPDATE overwrites state with values the client read earlier: an atomic increment
    (``balance = balance + :amount``) or a version bump commutes with a concurrent one, so it cannot
    lose an update."""
    return any(not _BOOKKEEPING.match(a) and a not in u.increments for a in u.assigned)


def update_without_version(s: Subject) -> list[Hit]:
    """UPDATEs that overwrite state and whose WHERE tests no version, ETag or timestamp: of two
    concurrent edits, one is lost."""
    found = []
    for u in _named(s.facts.updates, s.focus):
        if _overwrites(u) and u.predicate and not any(_VERSION.search(c) for c in u.predicate):
            hit = s.at(u.line, u.text.split("\n")[0])
            if hit is not None:
                found.append(hit)
    return unique(found)


def _named(updates: list[Update], focus: str) -> list[Update]:
    """The updates of the tables the demanding requirement names ("the same bill" -> ``billing.bill``);
    all of them when it names none of their tables."""
    words = set(content_stems(focus))
    named = [u for u in updates if stem(u.table.rsplit(".", 1)[-1]) in words]
    return named or updates


def versioned_update(s: Subject) -> list[Hit]:
    """UPDATEs that test a version, ETag or timestamp in their WHERE (optimistic concurrency)."""
    return unique([h for u in s.facts.updates if any(_VERSION.search(c) for c in u.predicate)
                   for h in [s.at(u.line, u.text.split("\n")[0])] if h])  # fmt: skip


def query_without_index(s: Subject) -> list[Hit]:
    """SELECTs on a declared table whose filter no index, primary key or unique constraint leads with."""
    declared = {c.table for c in s.facts.columns if c.source == "sql"}
    found = []
    for q in s.facts.selects:
        if q.table not in declared or not q.predicate:
            continue
        leads = {k.columns[0] for k in s.facts.keys if k.table == q.table and k.columns}
        if not leads & set(q.predicate):
            hit = s.at(q.line, q.text.split("\n")[0])
            if hit is not None and hit.end <= hit.start:
                hit = s.at(q.line, q.table)  # an f-string's SQL is not verbatim in the passage: mark the table
            if hit is not None:
                found.append(hit)
    return unique(found)


def indexes_defined(s: Subject) -> list[Hit]:
    """Indexes the design declares (``CREATE INDEX``, unique indexes), beyond primary keys."""
    return unique([h for k in s.facts.keys if k.kind == "index" or k.text.lower().startswith("create unique")
                   for h in [s.at(k.line, k.text)] if h])  # fmt: skip


def dedup_key(s: Subject) -> list[Hit]:
    """A primary key, unique constraint or conflict target over an event, message or idempotency id:
    redelivered messages and retried requests are recorded once (an inbox, a dedup table)."""
    found = []
    for key in s.facts.keys:
        if key.kind != "index" and not key.partial and any(_DEDUP.fullmatch(c) for c in key.columns):
            hit = s.at(key.line, key.text)
            if hit is not None:
                found.append(hit)
    return unique(found)


def increment_without_dedup(s: Subject) -> list[Hit]:
    """In-place increments by a message handler (the statement's passage or heading is about consuming
    or handling messages), in a design that neither declares a dedup key nor says it deduplicates:
    a redelivery counts twice."""
    if dedup_key(s) or any(_SAYS_DEDUP.search(p.plain) for p in s.deciding()):
        return []
    found = []
    for u in s.facts.updates:
        hit = s.at(u.line, u.text.split("\n")[0]) if u.increments else None
        if hit is not None and _MESSAGING.search(hit.passage.heading + " " + hit.passage.plain):
            found.append(hit)
    return unique(found)


def unbounded_list_endpoint(s: Subject) -> list[Hit]:
    """GET routes returning a list with no page size parameter, or with a page size that has no upper bound."""
    found = []
    for r in s.facts.routes:
        if r.method != "GET" or not r.returns.lower().startswith(("list[", "sequence[", "typing.list")):
            continue
        names = [name for name, _, _ in r.params]
        unbounded = [n for n in names if _LIST_PARAMS.match(n) and n not in r.bounded]
        if unbounded or not any(_PAGING.match(n) for n in names):
            hit = s.at(r.line, r.text)
            if hit is not None:
                found.append(hit)
    return unique(found)


def literal_secrets(s: Subject) -> list[Hit]:
    """Secret-named configuration keys (passwords, API keys, tokens) set to a literal value."""
    return unique([h for x in s.facts.secrets for h in [s.at(x.line, x.text)] if h])


def tenant_words(requirements: str) -> set[str]:
    """The words the requirements call a tenant: "tenant", and a noun they equate with it
    ("suppliers (tenants)", "each employer is a tenant"); empty when they demand no isolation."""
    words: set[str] = set()
    for sentence in re.split(r"(?<=[.;])\s+", requirements):
        if re.search(r"\btenan|\bisolat|\bsegregat", sentence, re.IGNORECASE):
            words.add("tenant")
            for match in _TENANT_ALIAS.finditer(sentence):
                words.add((match.group(1) or match.group(2)).lower())
            for match in re.finditer(r"\b([a-z]+)_id\b|scoped to (?:the |its )?`?([a-z]+)", sentence, re.I):
                words.add((match.group(1) or match.group(2)).lower())  # "scoped to the `supplier_id`"
            for match in re.finditer(r"\b(?:each|every|one|the)\s+(\w+)\s+is\s+a\s+tenant", sentence, re.I):
                words.add(match.group(1).lower())
    for match in _OTHERS_DATA.finditer(requirements):  # "No organisation may see another organisation's data"
        words |= {"tenant", match.group(1).lower().rstrip("s")}
    return words if words or re.search(r"\btenan|\bisolat|\bsegregat", requirements, re.IGNORECASE) else set()


def tenant_missing(s: Subject) -> list[Hit]:
    """Where the requirements demand tenant isolation: cache key templates without a tenant field
    (except the lookup whose value is the tenant), and queries on a table that has a tenant column
    whose filter leaves it out."""
    words = tenant_words(s.requirements)
    if not words:
        return []

    def tenanted(name: str) -> bool:
        return any(w in name.lower() for w in words)

    # the lookup that finds the tenant is keyed by what it finds the tenant of: "ct:gw:{gateway_id}, value = tenant id"
    alias = "|".join(re.escape(w) for w in sorted(words))
    finds_tenant = re.compile(
        rf"(?:\bvalues?\s*(?:[=:]|is|are)|->|→|=>|\bmaps?\b[^.;]{{0,40}}\bto|\bresolves?\b[^.;]{{0,40}}\bto)\s*"
        rf"(?:the |its |their )?`?(?:{alias})",
        re.IGNORECASE,
    )
    found = []
    for key in s.facts.cache_keys:
        lookup = finds_tenant.search(key.text[key.text.find(key.template) + len(key.template) :])
        if key.fields and not any(tenanted(f) for f in key.fields) and not tenanted(key.template) and not lookup:
            hit = s.at(key.line, key.template)
            if hit is not None:
                found.append(hit)
    tenant_tables = {c.table for c in s.facts.columns if c.source != "model" and tenanted(c.name)}
    for q in s.facts.selects:
        if q.table in tenant_tables and q.predicate and not any(tenanted(c) for c in q.predicate):
            hit = s.at(q.line, q.text.split("\n")[0])
            if hit is not None:
                found.append(hit)
    return unique(found)


# A rule: what it reads -> where it found what it looks for
Rule = Callable[[Subject], list[Hit]]

RULES: dict[str, Rule] = {
    "float_money": float_money,
    "update_without_version": update_without_version,
    "versioned_update": versioned_update,
    "query_without_index": query_without_index,
    "indexes_defined": indexes_defined,
    "dedup_key": dedup_key,
    "increment_without_dedup": increment_without_dedup,
    "unbounded_list_endpoint": unbounded_list_endpoint,
    "literal_secrets": literal_secrets,
    "tenant_missing": tenant_missing,
}
