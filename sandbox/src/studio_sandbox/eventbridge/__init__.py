"""EventBridge in the sandbox: the bus, Lambda/Step Functions targets, CloudTrail events."""
