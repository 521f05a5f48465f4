#!/usr/bin/env bash
# Write a Terraform CLI config that never touches the network: the hashicorp/aws provider
# comes from the machine's filesystem mirror when one exists, and checkpoint is disabled.
# Usage: scripts/tf-cli-config.sh OUT_FILE
set -euo pipefail
out=${1:?usage: tf-cli-config.sh OUT_FILE}
mkdir -p "$(dirname "$out")"
mirror=""
for candidate in /opt/tf-plugins /usr/share/terraform/plugins "$HOME/.terraform.d/plugins"; do
  if [ -d "$candidate/registry.terraform.io/hashicorp/aws" ]; then mirror=$candidate; break; fi
done
if [ -z "$mirror" ]; then
  found=$(find / -xdev -path /proc -prune -o -type f -name 'terraform-provider-aws_*' -print 2>/dev/null | head -n 1 || true)
  if [ -n "$found" ]; then mirror=${found%%/registry.terraform.io/*}; fi
fi
{
  echo 'disable_checkpoint = true'
  if [ -n "$mirror" ]; then
    cat <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
HCL
  fi
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "terraform CLI config: $out (provider mirror: ${mirror:-none, providers come from the registry})"
