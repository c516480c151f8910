"""Jobs: named units of batch work, run by hand or on a schedule, each run recorded."""
