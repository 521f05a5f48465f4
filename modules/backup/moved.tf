################################################################################
# Addresses before the shared datasync_role module: the bucket access role is kept
################################################################################

moved {
  from = aws_iam_role.access
  to   = module.access_role.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.access
  to   = module.access_role.aws_iam_role_policy.this
}
