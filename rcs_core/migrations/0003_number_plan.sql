-- Number plan (the national numbering registry) and ported numbers (MNP).
--
-- Plan directions are marked `source = 'number_plan'`: an import replaces their ranges and
-- never touches hand-made directions, prefixes or ranges (`source = 'manual'`). The region
-- lets a ported number find its recipient operator's direction in the same region.
-- Numbered 0003 but written after 0004-0006: it only adds, so it applies in either order.

ALTER TABLE directions
    ADD COLUMN source text NOT NULL DEFAULT 'manual'
        CHECK (source IN ('manual', 'number_plan')),
    ADD COLUMN region text NOT NULL DEFAULT '';

CREATE INDEX directions_plan_idx ON directions (operator_id, region)
    WHERE source = 'number_plan';

-- A ported number keeps the direction of its range but is delivered to operator_id.
CREATE TABLE ported_numbers (
    number bigint PRIMARY KEY CHECK (number BETWEEN 1000000000 AND 999999999999999),
    operator_id bigint NOT NULL REFERENCES operators (id)
);
CREATE INDEX ported_numbers_operator_idx ON ported_numbers (operator_id);
