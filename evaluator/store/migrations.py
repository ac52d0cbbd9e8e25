"""Numbered, append-only schema migrations of the DuckDB store.

Never edit a shipped migration: add a new one. Each runs in its own transaction together
with its row in ``schema_migrations``, so a crash leaves the database at a whole version.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE runs (
            run_id          VARCHAR PRIMARY KEY,
            kind            VARCHAR NOT NULL,          -- 'batch' | 'ingest'
            status          VARCHAR NOT NULL,          -- 'running' | 'completed' | 'interrupted'
            started_at      TIMESTAMP NOT NULL,
            finished_at     TIMESTAMP,
            source          VARCHAR,                   -- the batch folder or ingested path
            tool_version    VARCHAR NOT NULL,
            model_name      VARCHAR,
            model_sha256    VARCHAR,
            profile         VARCHAR,
            prompt_hash     VARCHAR,
            settings        JSON,
            cases_total     INTEGER,
            cases_ok        INTEGER,
            cases_failed    INTEGER,
            cases_skipped   INTEGER
        );
        CREATE TABLE documents (
            sha256      VARCHAR PRIMARY KEY,
            path        VARCHAR NOT NULL,              -- where it was first seen
            title       VARCHAR,
            size_bytes  INTEGER NOT NULL,
            tokens      INTEGER,
            first_seen  TIMESTAMP NOT NULL
        );
        CREATE TABLE reviews (
            review_id                 VARCHAR PRIMARY KEY,
            run_id                    VARCHAR NOT NULL,  -- runs.run_id; no FK: DuckDB can't update a referenced row
            case_key                  VARCHAR NOT NULL,
            cache_key                 VARCHAR,         -- same inputs + model + profile + prompts + settings
            source                    VARCHAR NOT NULL, -- 'generated' | 'ingested'
            source_path               VARCHAR,
            design_path               VARCHAR,
            requirements_path         VARCHAR,
            design_sha256             VARCHAR,
            requirements_sha256       VARCHAR,
            status                    VARCHAR NOT NULL, -- 'ok' | 'failed'
            error                     VARCHAR,
            raw_output                VARCHAR,
            title                     VARCHAR,
            overall_assessment        VARCHAR,
            completeness_score        DOUBLE,
            technical_soundness_score DOUBLE,
            implementation_readiness  VARCHAR,
            model_name                VARCHAR,
            profile                   VARCHAR,
            prompt_hash               VARCHAR,
            processing_mode           VARCHAR,
            passes                    INTEGER,
            retries                   INTEGER,
            found_fields              VARCHAR[],
            prompt_tokens             INTEGER,
            cached_tokens             INTEGER,
            completion_tokens         INTEGER,
            seconds                   DOUBLE,
            review_json               JSON,
            markdown                  VARCHAR,
            created_at                TIMESTAMP NOT NULL
        );
        CREATE TABLE findings (
            review_id      VARCHAR NOT NULL REFERENCES reviews (review_id),
            position       INTEGER NOT NULL,
            severity       VARCHAR NOT NULL,
            title          VARCHAR NOT NULL,
            detail         VARCHAR,
            section        VARCHAR,
            evidence       VARCHAR,
            evidence_found BOOLEAN,
            PRIMARY KEY (review_id, position)
        );
        CREATE TABLE section_feedback (
            review_id VARCHAR NOT NULL REFERENCES reviews (review_id),
            position  INTEGER NOT NULL,
            key       VARCHAR NOT NULL,
            title     VARCHAR NOT NULL,
            feedback  VARCHAR,
            PRIMARY KEY (review_id, position)
        );
        CREATE TABLE checklist_items (
            review_id VARCHAR NOT NULL REFERENCES reviews (review_id),
            position  INTEGER NOT NULL,
            key       VARCHAR NOT NULL,
            text      VARCHAR NOT NULL,
            checked   BOOLEAN NOT NULL,
            PRIMARY KEY (review_id, position)
        );
        CREATE INDEX reviews_case ON reviews (case_key, created_at);
        CREATE INDEX reviews_cache ON reviews (cache_key);
        CREATE VIEW latest_reviews AS
            SELECT * FROM reviews WHERE status = 'ok'
            QUALIFY row_number() OVER (PARTITION BY case_key ORDER BY created_at DESC, review_id DESC) = 1;
        CREATE VIEW score_trends AS
            SELECT case_key, created_at, run_id, review_id, source, model_name, profile, prompt_hash,
                   design_sha256, requirements_sha256, title,
                   completeness_score, technical_soundness_score, overall_assessment, implementation_readiness,
                   row_number() OVER w AS point,
                   completeness_score - lag(completeness_score) OVER w AS completeness_change,
                   technical_soundness_score - lag(technical_soundness_score) OVER w AS soundness_change
            FROM reviews WHERE status = 'ok'
            WINDOW w AS (PARTITION BY case_key ORDER BY created_at, review_id);
        """,
    ),
    (
        "prompt evaluation time",
        """
        ALTER TABLE reviews ADD COLUMN prompt_seconds DOUBLE;  -- part of seconds spent on the prompt
        """,
    ),
    (
        "prompt injection flags",
        """
        ALTER TABLE reviews ADD COLUMN injection_flags VARCHAR[];  -- evaluator.injection kinds found in the inputs
        """,
    ),
    (
        "calibration",
        """
        CREATE TABLE calibration_runs (               -- one `evaluator calibrate` (see evaluator/calibration.py)
            calibration_id        VARCHAR PRIMARY KEY,
            created_at            TIMESTAMP NOT NULL,
            dataset               VARCHAR NOT NULL,
            run_id                VARCHAR NOT NULL,   -- the batch run it reviewed (or found cached) cases in
            model_name            VARCHAR,
            model_sha256          VARCHAR,
            profile               VARCHAR,
            prompt_hash           VARCHAR,
            cases_labelled        INTEGER NOT NULL,   -- labelled cases in the dataset
            cases                 INTEGER NOT NULL,   -- of which reviewed (fewer with --limit)
            cases_ok              INTEGER NOT NULL,
            validity              DOUBLE,             -- cases_ok / cases
            defects               INTEGER NOT NULL,   -- planted defects of the cases
            matched               INTEGER NOT NULL,
            recall                DOUBLE,             -- matched / defects
            findings              INTEGER NOT NULL,
            unmatched             INTEGER NOT NULL,   -- findings mentioning no planted defect
            evidence_quotes       INTEGER NOT NULL,   -- findings with an evidence quote
            evidence_found        INTEGER NOT NULL,   -- of which found in the design
            evidence_found_share  DOUBLE,
            spearman_completeness DOUBLE,             -- rank correlation, defect count vs score; expected < 0
            spearman_soundness    DOUBLE,
            groups                INTEGER NOT NULL,   -- requirements groups with a sound and a defective review
            groups_sound_first    INTEGER NOT NULL,   -- of which the sound design scored strictly highest
            sound_first           BOOLEAN             -- groups_sound_first = groups; NULL when groups = 0
        );
        CREATE TABLE calibration_cases (
            calibration_id            VARCHAR NOT NULL,
            case_key                  VARCHAR NOT NULL,
            requirements              VARCHAR NOT NULL, -- the group: requirements path within the dataset
            expected                  VARCHAR NOT NULL, -- 'sound' | 'defective'
            review_id                 VARCHAR NOT NULL, -- reviews.review_id
            status                    VARCHAR NOT NULL,
            completeness_score        DOUBLE,
            technical_soundness_score DOUBLE,
            defects                   INTEGER NOT NULL,
            matched                   INTEGER NOT NULL,
            findings                  INTEGER NOT NULL,
            unmatched                 INTEGER NOT NULL,
            PRIMARY KEY (calibration_id, case_key)
        );
        CREATE TABLE calibration_matches (
            calibration_id   VARCHAR NOT NULL,
            case_key         VARCHAR NOT NULL,
            defect_id        VARCHAR NOT NULL,
            severity         VARCHAR NOT NULL,
            matched          BOOLEAN NOT NULL,
            finding_position INTEGER,             -- findings.position of the first matching finding
            PRIMARY KEY (calibration_id, case_key, defect_id)
        );
        CREATE VIEW calibration_trends AS
            SELECT dataset, model_name, profile, prompt_hash, created_at, calibration_id, run_id, cases, recall,
                   unmatched, spearman_completeness, spearman_soundness, sound_first, evidence_found_share, validity,
                   row_number() OVER w AS point,
                   recall - lag(recall) OVER w AS recall_change
            FROM calibration_runs
            WINDOW w AS (PARTITION BY dataset, model_name, profile ORDER BY created_at, calibration_id);
        """,
    ),
    (
        "runs: which backend reviewed, and its version",
        """
        ALTER TABLE runs ADD COLUMN backend VARCHAR;          -- 'llama-cpp', 'fake', ...; NULL before this version
        ALTER TABLE runs ADD COLUMN backend_version VARCHAR;  -- the runtime's version (llama-cpp-python's)
        """,
    ),
    (
        "grounded reviews",
        """
        -- Where a finding comes from and where its evidence is (evaluator.analyses).
        ALTER TABLE findings ADD COLUMN source VARCHAR;          -- coverage | check | model | injection
        ALTER TABLE findings ADD COLUMN requirement_id VARCHAR;  -- the requirement it concerns
        ALTER TABLE findings ADD COLUMN check_id VARCHAR;        -- the profile check that raised it
        ALTER TABLE findings ADD COLUMN line_start INTEGER;      -- evidence lines in the design, 1-based
        ALTER TABLE findings ADD COLUMN line_end INTEGER;
        -- The model's own scores, kept apart from the rubric's completeness/soundness.
        ALTER TABLE reviews ADD COLUMN model_completeness_score DOUBLE;
        ALTER TABLE reviews ADD COLUMN model_technical_soundness_score DOUBLE;
        CREATE TABLE requirement_coverage (
            review_id        VARCHAR NOT NULL REFERENCES reviews (review_id),
            position         INTEGER NOT NULL,
            requirement_id   VARCHAR NOT NULL,
            requirement_text VARCHAR NOT NULL,
            mandatory        BOOLEAN NOT NULL,
            status           VARCHAR NOT NULL,  -- covered | partial | not_addressed | contradicted
            score            DOUBLE NOT NULL,   -- term coverage, 0-1
            evidence         JSON,              -- [{passage_id, line_start, line_end, text}]
            line_start       INTEGER,           -- of the first evidence passage
            line_end         INTEGER,
            PRIMARY KEY (review_id, position)
        );
        -- Calibration of grounded reviews (evaluator.calibration.Metrics).
        ALTER TABLE calibration_runs ADD COLUMN blocking_defects INTEGER;    -- critical + recommendation defects
        ALTER TABLE calibration_runs ADD COLUMN blocking_matched INTEGER;
        ALTER TABLE calibration_runs ADD COLUMN blocking_recall DOUBLE;
        ALTER TABLE calibration_runs ADD COLUMN matched_by_source JSON;      -- {"check": 12, "coverage": 1, ...}
        ALTER TABLE calibration_runs ADD COLUMN sound_critical INTEGER;      -- findings on sound designs
        ALTER TABLE calibration_runs ADD COLUMN sound_recommendations INTEGER;
        ALTER TABLE calibration_runs ADD COLUMN sound_suggestions INTEGER;
        ALTER TABLE calibration_runs ADD COLUMN sound_max_recommendations INTEGER;  -- most on one sound design
        ALTER TABLE calibration_runs ADD COLUMN analysis_findings INTEGER;   -- from coverage, checks, injection
        ALTER TABLE calibration_runs ADD COLUMN analysis_located INTEGER;    -- with evidence at a line location
        ALTER TABLE calibration_runs ADD COLUMN evidence_located_share DOUBLE;
        ALTER TABLE calibration_runs ADD COLUMN labelled_requirements INTEGER;  -- defects naming a requirement
        ALTER TABLE calibration_runs ADD COLUMN requirements_flagged INTEGER;   -- of which the review flagged
        ALTER TABLE calibration_runs ADD COLUMN coverage_accuracy DOUBLE;
        """,
    ),
    (
        "ingested rows beyond the profile, parse notes",
        """
        -- An ingested checklist line or Section-by-Section entry the profile does not have is kept, without a key.
        ALTER TABLE checklist_items ALTER COLUMN key DROP NOT NULL;
        ALTER TABLE section_feedback ALTER COLUMN key DROP NOT NULL;
        -- What the parser noted about an ingested review: a revised summary value, "none" stated, lines not read.
        ALTER TABLE reviews ADD COLUMN parse_notes VARCHAR[];
        """,
    ),
    (
        "document source format",
        """
        -- 'markdown', or what it was converted from: 'docx', 'pdf', 'html', 'rst', 'asciidoc'
        ALTER TABLE documents ADD COLUMN source_format VARCHAR;
        ALTER TABLE documents ADD COLUMN converter VARCHAR;  -- e.g. 'markitdown 0.1.9'; NULL when read as it is
        """,
    ),
    (
        "findings that show or state an absence, on a requirement, with a fingerprint",
        """
        -- 'shows': evidence quotes a deciding passage and evidence[match_start:match_end] are the words
        -- the rule matched; 'absent': no quote, searched_for says what was looked for. NULL: ingested/model.
        ALTER TABLE findings ADD COLUMN evidence_kind VARCHAR;
        ALTER TABLE findings ADD COLUMN match_start INTEGER;
        ALTER TABLE findings ADD COLUMN match_end INTEGER;
        ALTER TABLE findings ADD COLUMN requirement_text VARCHAR;   -- the requirement it rests on, as written
        ALTER TABLE findings ADD COLUMN requirement_line INTEGER;   -- its line in the requirements document
        ALTER TABLE findings ADD COLUMN searched_for VARCHAR[];
        ALTER TABLE findings ADD COLUMN expected_in VARCHAR;        -- the design section where it would belong
        ALTER TABLE findings ADD COLUMN model_verdict VARCHAR;      -- a capable model's yes / no / unclear
        ALTER TABLE findings ADD COLUMN fingerprint VARCHAR;        -- stable across re-reviews (Finding.fingerprint)
        -- Which parts of a generated review a model wrote (e.g. ['risk_assessment']); empty: none.
        ALTER TABLE reviews ADD COLUMN model_parts VARCHAR[];
        """,
    ),
    (
        "finding history across revisions; waivers applied",
        """
        -- A case's revisions: its successful reviews in order, a new revision where the design's or the
        -- requirements' digest differs from the review before; a revision stands for its latest review.
        CREATE VIEW case_revisions AS
        WITH series AS (
            SELECT review_id, case_key, created_at, design_sha256, requirements_sha256,
                   CASE WHEN lag(review_id) OVER w IS NULL
                          OR lag(design_sha256) OVER w IS DISTINCT FROM design_sha256
                          OR lag(requirements_sha256) OVER w IS DISTINCT FROM requirements_sha256
                        THEN 1 ELSE 0 END AS starts
            FROM reviews WHERE status = 'ok'
            WINDOW w AS (PARTITION BY case_key ORDER BY created_at, review_id)
        ), numbered AS (
            SELECT *, sum(starts) OVER (PARTITION BY case_key ORDER BY created_at, review_id
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS revision
            FROM series
        )
        SELECT case_key, revision, review_id, created_at, design_sha256, requirements_sha256,
               revision = max(revision) OVER (PARTITION BY case_key) AS latest
        FROM numbered
        QUALIFY row_number() OVER (PARTITION BY case_key, revision ORDER BY created_at DESC, review_id DESC) = 1;
        -- One row per finding of each revision's review: 'new' (not in the revision before) or 'persisting'
        -- (present in every revision since first_revision); and one 'resolved' row per finding of the
        -- revision before that this one no longer has. Findings match by fingerprint (Finding.fingerprint).
        CREATE VIEW finding_history AS
        WITH present AS (
            SELECT r.case_key, r.revision, r.review_id, r.created_at, r.latest, f.fingerprint,
                   min(f.position) AS position
            FROM case_revisions r JOIN findings f ON f.review_id = r.review_id
            WHERE f.fingerprint IS NOT NULL
            GROUP BY r.case_key, r.revision, r.review_id, r.created_at, r.latest, f.fingerprint
        ), streaks AS (
            SELECT *, revision - row_number() OVER (PARTITION BY case_key, fingerprint ORDER BY revision) AS streak
            FROM present
        ), ranged AS (
            SELECT *, min(revision) OVER s AS first_revision, min(created_at) OVER s AS first_seen,
                   max(revision) OVER s AS last_revision
            FROM streaks
            WINDOW s AS (PARTITION BY case_key, fingerprint, streak)
        )
        SELECT x.case_key, x.revision, x.review_id, x.created_at, x.latest,
               CASE WHEN x.revision = x.first_revision THEN 'new' ELSE 'persisting' END AS state,
               x.fingerprint, f.severity, f.title, f.source, f.check_id, f.requirement_id, x.position,
               x.first_revision, x.first_seen, x.revision - x.first_revision + 1 AS revisions
        FROM ranged x JOIN findings f ON f.review_id = x.review_id AND f.position = x.position
        UNION ALL
        SELECT n.case_key, n.revision, n.review_id, n.created_at, n.latest, 'resolved' AS state,
               x.fingerprint, f.severity, f.title, f.source, f.check_id, f.requirement_id, NULL AS position,
               x.first_revision, x.first_seen, x.revision - x.first_revision + 1 AS revisions
        FROM ranged x
        JOIN case_revisions n ON n.case_key = x.case_key AND n.revision = x.revision + 1
        JOIN findings f ON f.review_id = x.review_id AND f.position = x.position
        WHERE x.revision = x.last_revision;
        -- The waivers `evaluator gate --waivers` applied to a review's findings: who accepted what, why, until when.
        CREATE TABLE finding_waivers (
            review_id     VARCHAR NOT NULL,   -- reviews.review_id
            position      INTEGER NOT NULL,   -- findings.position
            fingerprint   VARCHAR NOT NULL,
            matched_by    VARCHAR NOT NULL,   -- 'fingerprint' | 'check'
            case_glob     VARCHAR NOT NULL,
            justification VARCHAR NOT NULL,
            approved_by   VARCHAR NOT NULL,
            expires       DATE NOT NULL,
            waivers_file  VARCHAR NOT NULL,   -- the file as given to the gate
            applied_at    TIMESTAMP NOT NULL,
            PRIMARY KEY (review_id, position)
        );
        """,
    ),
    (
        "converted documents: their markdown and where each line came from",
        """
        -- What a .docx/.pdf/.html/.rst/.adoc document was reviewed as (the markdown evidence lines refer
        -- to), and for each of its lines the span in the source file: {"name", "unit": line | paragraph |
        -- page, "positions": [[first, last] or null per markdown line]}. NULL for markdown read as it is.
        ALTER TABLE documents ADD COLUMN converted_text VARCHAR;
        ALTER TABLE documents ADD COLUMN source_map JSON;
        """,
    ),
    (
        "calibration: recall on the requirement a defect breaks",
        """
        -- A match phrase can be met by a finding about something else: these count only the defects
        -- matched by a finding that names the requirement the defect breaks (or where either names none).
        ALTER TABLE calibration_runs ADD COLUMN blocking_on_requirement INTEGER;
        ALTER TABLE calibration_runs ADD COLUMN strict_blocking_recall DOUBLE;
        ALTER TABLE calibration_matches ADD COLUMN on_requirement BOOLEAN;
        """,
    ),
]
