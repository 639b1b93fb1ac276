"""wrk --latency's report as one JSON object: requests/s, latency percentiles (ms), errors.

    wrk2json.py WRK_OUTPUT [key=value ...]      (the pairs are added to the object)
"""
import json
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def main():
    out = {}
    for pair in sys.argv[2:]:
        k, v = pair.split("=", 1)
        out[k] = float(v) if re.fullmatch(r"[\d.]+", v) else v
    text = open(sys.argv[1]).read()
    out["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M)
        out[f"p{pct}_ms"] = ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    json.dump(out, sys.stdout)
    print()
    if out["non2xx"]:
        sys.exit(f"wrk2json: {out['non2xx']} answers were not 2xx: the run is not valid")


if __name__ == "__main__":
    main()
