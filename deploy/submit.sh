#!/usr/bin/env bash
# Cluster submission of the main job. Usage: SPARK_MASTER=... deploy/submit.sh -- <job args>
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SPARK_MASTER:?set SPARK_MASTER (e.g. yarn, k8s://..., spark://...)}"
[ "${1:-}" = "--" ] && shift
build=$(mktemp -d)
zip -qr "$build/cnscore.zip" cnscore jobs -x '*/__pycache__/*'
extra=()
if [ -n "${DELTA_PACKAGES:-}" ]; then
  extra+=(--packages "$DELTA_PACKAGES"
          --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
          --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi
exec spark-submit --master "$SPARK_MASTER" --py-files "$build/cnscore.zip" \
  "${extra[@]}" jobs/score.py "$@"
