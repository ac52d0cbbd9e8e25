"""Code in designs read with real parsers: SQL through sqlglot, Python through ast, configuration by line."""

from __future__ import annotations

from evaluator.grounding.code import read_code

DESIGN = """# Payroll

## Data model

```sql
CREATE TABLE payroll_run (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL,
  period_start date NOT NULL,
  gross DOUBLE PRECISION NOT NULL,
  iban varchar(34),
  version int NOT NULL DEFAULT 0,
  UNIQUE (employee_id, period_start)
);
CREATE INDEX ix_run_tenant ON payroll_run (tenant_id, period_start);
CREATE UNIQUE INDEX ux_open ON payroll_run (tenant_id) WHERE status = 'OPEN';
GRANT SELECT, UPDATE ON audit_log TO app_rw;
INSERT INTO processed_event (consumer_group, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;
ALTER TABLE payslip ADD CONSTRAINT uq_payslip UNIQUE (tenant_id, employee_id, period_start);
```

Approval runs `UPDATE payroll_run SET status = 'APPROVED' WHERE id = :id` in one transaction.

```python
class PayslipOut(BaseModel):
    gross: float
    iban: str

class Employee(Base):
    __tablename__ = "employee"
    iban = Column(String(34), nullable=False)
    salary: Mapped[Decimal] = mapped_column(Numeric(12, 2))

@router.get("/v1/payslips")
async def list_payslips(tenant_id: UUID, limit: int = 100, size: int = Query(50, le=200)):
    logger.info("listed", extra={"iban": mask_iban(emp.iban), "email": user.email})
    return []

@router.post("/v1/runs", status_code=201)
def create_run(body: RunIn): ...
```

```yaml
database:
  url: postgresql://payroll:S3cr3tPass@db:5432/payroll
  password: ${DB_PASSWORD}
bank:
  api_key: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
  client_secret: <from vault>
  token_ttl_seconds: 3600
```
"""


def test_sql_tables_columns_keys_updates_and_grants() -> None:
    facts = read_code(DESIGN)
    types = {(c.table, c.name): c.type for c in facts.columns if c.source == "sql"}
    assert types[("payroll_run", "gross")] == "double precision" and types[("payroll_run", "iban")] == "varchar(34)"
    gross = next(c for c in facts.columns if c.name == "gross" and c.source == "sql")
    assert (gross.line, gross.text) == (10, "gross DOUBLE PRECISION NOT NULL")  # the design's own line
    keys = {(k.table, k.columns, k.kind, k.partial) for k in facts.keys}
    assert ("payroll_run", ("id",), "primary", False) in keys
    assert ("payroll_run", ("employee_id", "period_start"), "unique", False) in keys
    assert ("payroll_run", ("tenant_id", "period_start"), "index", False) in keys
    assert ("payroll_run", ("tenant_id",), "unique", True) in keys  # partial: holds for OPEN rows only
    assert ("payslip", ("tenant_id", "employee_id", "period_start"), "unique", False) in keys
    assert [k.columns for k in facts.unique_keys("payroll_run")] == [("id",), ("employee_id", "period_start")]
    update = facts.updates[0]  # an inline code span in prose
    assert (update.table, update.assigned, update.predicate, update.line) == ("payroll_run", ("status",), ("id",), 22)
    assert facts.grants[0].privileges == ("SELECT", "UPDATE") and facts.grants[0].table == "audit_log"
    assert facts.upserts == ["processed_event"]


def test_python_models_orm_columns_routes_and_log_calls() -> None:
    facts = read_code(DESIGN)
    fields = {(c.table, c.name): (c.type, c.source) for c in facts.columns if c.source != "sql"}
    assert fields[("payslipout", "gross")] == ("float", "model")
    assert fields[("employee", "iban")] == ("string(34)", "orm")
    assert fields[("employee", "salary")] == ("numeric(12, 2)", "orm")
    listing, create = facts.routes
    assert (listing.method, listing.path, listing.status_code) == ("GET", "/v1/payslips", None)
    assert ("limit", "int", "100") in listing.params and listing.bounded == ("size",)
    assert (create.method, create.status_code) == ("POST", 201)
    log = facts.logs[0]
    assert "iban" in log.masked and "iban" not in log.names and "email" in log.names


def test_literal_secrets_in_configuration_but_not_placeholders() -> None:
    secrets = read_code(DESIGN).secrets
    assert [s.key for s in secrets] == ["url credentials", "api_key"]
    assert all(DESIGN.split("\n")[s.line - 1].strip() == s.text for s in secrets)


def test_fragments_that_do_not_parse_are_skipped_never_guessed() -> None:
    broken = (
        "# X\n\n```sql\nthis is not SQL at all;\nSELEC * FRM;\nCREATE TABLE ok (id int PRIMARY KEY);\n```\n\n"
        "```python\ndef broken(:\n    pass\n```\n\n```python\nclass A(BaseModel):\n    x: int\n  y: str\n```\n"
    )
    facts = read_code(broken)
    assert [(c.table, c.name) for c in facts.columns] == [("ok", "id")]
    assert facts.routes == [] and facts.logs == []
