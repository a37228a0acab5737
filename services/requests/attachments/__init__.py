"""Attachments of support requests: photos, videos and evidence uploaded as files (issue 21).

`domain` (pure rules: accepted kinds, limits, checks, references), `application` (upload, read,
reference, sweep), `storage` (the blob port with a filesystem and a PostgreSQL adapter, and the
metadata table), `uploads` (the streamed multipart reader), `http` (routes), `dossier` (the case PDF).
"""
