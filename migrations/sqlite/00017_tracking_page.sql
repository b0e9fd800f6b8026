-- +goose Up
-- The tracking page (#24, point 6): each assignment's verification code,
-- the customer's feedback after the visit, and the company's colour.
ALTER TABLE assignments ADD COLUMN verification_code TEXT NOT NULL DEFAULT '';
ALTER TABLE company ADD COLUMN brand_color TEXT NOT NULL DEFAULT '';
-- One feedback per assignment, never changed; its job and technician are
-- the assignment's (assignments_job_id, assignments_technician_id find them).
CREATE TABLE feedback (
    assignment_id INTEGER PRIMARY KEY REFERENCES assignments (id),
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE feedback;
ALTER TABLE company DROP COLUMN brand_color;
ALTER TABLE assignments DROP COLUMN verification_code;
