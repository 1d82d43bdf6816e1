import time
from cnscore.config import CoordinationConfig
from cnscore.coordination import run_coordination
from cnscore.coordination.planted import generate_planted

def test_debug(spark):
    d = generate_planted()
    t = d.to_spark(spark)
    sc = spark.sparkContext
    sc.setJobGroup("coord", "coord")
    s = time.time()
    res = run_coordination(t["ratings"], t["notes"], CoordinationConfig())
    ids = sc.statusTracker().getJobIdsForGroup("coord")
    print("run", time.time() - s, "jobs", len(ids))
    for j in sorted(ids):
        info = sc.statusTracker().getJobInfo(j)
        print(j, len(info.stageIds), info.status)
