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
]
