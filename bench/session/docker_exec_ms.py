"""docker_exec_ms.py IMAGE ROUNDS: the p50 in ms of one `docker exec` of
`python3 -c pass` in a running container, through the engine API as
runbox's sessions did before the interpreter was resident: create the
exec, start it attached, read to its end, inspect its exit code."""
import http.client
import json
import socket
import statistics
import sys
import time


class Engine(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("docker", timeout=60)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect("/var/run/docker.sock")


def call(method, path, body=None):
    c = Engine()
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


image, rounds = sys.argv[1], int(sys.argv[2])
st, data = call("POST", "/containers/create",
                {"Image": image, "Cmd": ["sleep", "600"],
                 "Labels": {"runbox.bench": "1"},
                 "HostConfig": {"NetworkMode": "none"}})
if st != 201:
    sys.exit("docker_exec_ms: create failed: %s" % data)
cid = json.loads(data)["Id"]
try:
    call("POST", "/containers/%s/start" % cid)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        st, data = call("POST", "/containers/%s/exec" % cid,
                        {"Cmd": ["python3", "-c", "pass"], "AttachStdout": True,
                         "AttachStderr": True})
        eid = json.loads(data)["Id"]
        call("POST", "/exec/%s/start" % eid, {"Detach": False, "Tty": False})
        call("GET", "/exec/%s/json" % eid)
        times.append((time.perf_counter() - t) * 1e3)
    print("%.1f" % statistics.median(times))
finally:
    call("DELETE", "/containers/%s?force=1" % cid)
