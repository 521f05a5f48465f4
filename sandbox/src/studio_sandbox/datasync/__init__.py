"""DataSync in the sandbox: `models`, `backend`, `copier` (EFS->EFS) over `trees`, `s3_locations`
(EFS<->S3), `responses` (the API handlers and `patch()`)."""
