#!/usr/bin/env bash
# Runs one line of slurm_inputs.txt as a Slurm array task with `vat launch`.
# The Slurm workflow (this wrapper and its array script) is not in this version of vat yet, so it refuses to run.
echo "slurm_wrapper.sh: the Slurm sweep workflow is not available in this version of vat; run lines by hand with vat launch" >&2
exit 1
