"""QS-MF evaluation: rater diagnostics (cnscore.qs.diagnostics) and the experiment harness
(cnscore.qs.experiments) behind `python -m jobs.evaluate`.

Everything here works on in-memory numpy/pandas arrays and fits with the in-memory engine
(cnscore.mf.local.fit_mf_local), which is proven identical to the Spark engine; no
SparkSession is ever built here.
"""
