# lost.py - sums a `greenshim-analyze dump` of one trace file: CALL records,
# LOST calls/records (version 2 LOST lines), END records.  Prints
# "calls=N lost_calls=N lost_records=N ends=N reasons=a,b lost_tids=N".
import re, sys
calls = lost_calls = lost_recs = ends = 0
reasons = set()
tids = set()
for line in sys.stdin:
    if " CALL " in line:
        calls += 1
    elif " LOST " in line:
        m = re.search(r"calls=(\d+) records=(\d+) reason=(\d+)", line)
        if not m:
            print("LOST line without calls/records/reason: " + line.strip())
            sys.exit(1)
        lost_calls += int(m.group(1))
        lost_recs += int(m.group(2))
        reasons.add(m.group(3))
        t = re.search(r" tid=(\d+) ", line.split("LOST", 1)[1] + " ")
        if t and int(m.group(1)) + int(m.group(2)):
            tids.add(t.group(1))
    elif " END " in line:
        ends += 1
print("calls=%d lost_calls=%d lost_records=%d ends=%d reasons=%s lost_tids=%d"
      % (calls, lost_calls, lost_recs, ends, ",".join(sorted(reasons)) or "-", len(tids)))
