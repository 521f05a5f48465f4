"""SageMaker Studio in the sandbox: domains, user profiles, spaces and apps.

Layout: `models` (homes and apps), `backend`, `responses` (the handlers and `patch()`),
`lifecycle` (Studio lifecycle configurations), `launch` (what a space's app starts with),
`apps` (lifecycle scripts run for real, and the shutdown path), `throttle`.

moto 5.2 has domains only, with a fake `HomeEfsFileSystemId`, an id derived from the name
(a recreated domain would get the same id) and no `RetentionPolicy`. This extension:

- gives each domain a random id and a real sandbox EFS (a local directory) with a mount
  target in each of its subnets and the two NFS security groups Studio creates;
- adds user profiles and spaces, with `HomeEfsFileSystemUid` allocated per domain from
  200000 up and never reused, and apps; the first app of a profile or space creates its
  home directory `/<uid>` (owner `uid:100`, mode 0700) on the domain's EFS;
- makes DeleteDomain refuse while profiles or spaces exist and honour
  `RetentionPolicy.HomeEfsFileSystem` (Retain keeps the EFS and its files, Delete removes
  them);
- gives each JupyterLab/CodeEditor space its own EBS volume (a local directory) that
  DeleteSpace removes, serves Studio lifecycle configurations and UpdateDomain, and starts
  such a space's apps for real: their lifecycle scripts run in `bash` with the execution
  role's credentials, and DeleteApp stops every process they left (:mod:`.apps`);
- answers with the errors AWS gives (ResourceNotFound, ResourceInUse, ValidationException);
- emits the CloudTrail event of every write call through `cloudtrail.emit_api_call`.
"""
