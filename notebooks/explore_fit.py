# %% [markdown]
# # Fit the embedded synthetic dataset and compare with the planted truth
# Run: `PYSPARK_PYTHON=.venv/bin/python .venv/bin/python notebooks/explore_fit.py`

# %%
import numpy as np

from cnscore.config import MFConfig
from cnscore.mf.stage import fit_mf_stage
from cnscore.preprocess import with_helpful_num
from cnscore.synthetic import generate, to_spark
from jobs._session import build_session

spark = build_session("notebook", master="local[2]", conf={"spark.sql.shuffle.partitions": "4"})
data = generate(num_raters=2000, num_notes=400, num_ratings=40_000, seed=7)
stage = fit_mf_stage(spark, with_helpful_num(to_spark(spark, data)["ratings"]), MFConfig())

# %%
notes = stage.note_params.toPandas().merge(data.truth_notes, on="noteId")
print("sweeps", stage.fit.sweeps, "loss", stage.fit.objective)
print("corr(intercept, quality)", np.corrcoef(notes.internalNoteIntercept, notes.quality)[0, 1])
print("corr(factor, viewpoint)", np.corrcoef(notes.internalNoteFactor1, notes.viewpoint)[0, 1])
