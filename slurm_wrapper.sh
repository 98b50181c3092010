#!/usr/bin/env bash
# Runs one line of slurm_inputs.txt as a Slurm array task with `vat launch`.
# `vat launch` and the sweep workflow are not in this version of vat yet, so this wrapper refuses to run.
echo "slurm_wrapper.sh: needs 'vat launch', which is not available in this version of vat" >&2
exit 1
