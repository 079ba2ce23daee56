-- pgvector holds transcript embeddings. On managed servers (Supabase keeps it in the
-- "extensions" schema) it may already be installed elsewhere: IF NOT EXISTS keeps that one.
CREATE EXTENSION IF NOT EXISTS vector;

-- Every Chronos object lives in its own schema so a managed database that already has a
-- "videos" or "students" table in public is left untouched.
CREATE SCHEMA IF NOT EXISTS chronos;
