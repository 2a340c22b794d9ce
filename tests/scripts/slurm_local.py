"""A private single-node Slurm cluster for tests/scripts/test_slurm_sweep.py.

    with PrivateSlurm(tmp_path) as cluster:     # starts munged, slurmctld, slurmd
        env = cluster.env                       # SLURM_CONF etc. for sbatch/squeue/sinfo
        cluster.wait_jobs(["123", "124"], timeout_s=120)

Everything lives under one directory: a munge key and socket of its own, slurm.conf, state,
spool, logs and pid files; the ports are free ones picked at start. Nothing system-wide is read
or touched (the Debian packages' /etc/munge and /etc/slurm are not used). The three daemons run
in the foreground as child processes and are stopped by their pids on exit, on failure too.

unavailable() says why such a cluster cannot start here (not root, a package missing); a
daemon that fails to start raises SlurmStartError with the tail of its log.
"""
import os
import shutil
import socket
import subprocess
import time

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol")
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
# What scripts/install-deps.sh installs for these.
PACKAGES = "munge slurmctld slurmd slurm-client"


class SlurmStartError(RuntimeError):
    pass


def which(name):
    path = shutil.which(name)
    if path:
        return path
    for d in SBIN:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def unavailable():
    """The reason a private cluster cannot start here, or None."""
    if os.geteuid() != 0:
        return "not root: slurmd must run as root (SlurmdUser=root)"
    missing = [n for n in DAEMONS + CLIENTS + ("mungekey",) if which(n) is None]
    if missing:
        return (f"Slurm not installed ({', '.join(missing)} missing; "
                f"scripts/install-deps.sh installs {PACKAGES})")
    return None


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({path}: {e})"


def real_memory_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return max(1, int(line.split()[1]) // 1024 - 512)
    return 1024


class PrivateSlurm:
    def __init__(self, root):
        self.root = os.path.abspath(str(root))
        self.procs = {}
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        d = self.dir
        self.conf = d("etc", "slurm.conf")
        self.munge_socket = d("munge", "munge.socket")
        self.logs = {"munged": d("log", "munged.log"), "slurmctld": d("log", "slurmctld.log"),
                     "slurmd": d("log", "slurmd.log")}
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        for k in list(self.env):
            # Anything from an enclosing Slurm job would leak into sbatch's defaults.
            if k.startswith(("SLURM_", "SBATCH_", "SQUEUE_", "SINFO_")) and k != "SLURM_CONF":
                del self.env[k]

    def dir(self, *parts):
        return os.path.join(self.root, *parts)

    # -- set-up ----------------------------------------------------------------------------
    def _write_config(self):
        for sub in ("etc", "munge", "log", "state", "spool", "run"):
            os.makedirs(self.dir(sub), mode=0o700, exist_ok=True)
        ctld_port, slurmd_port = free_ports(2)
        subprocess.run([which("mungekey"), "--create", f"--keyfile={self.dir('munge', 'key')}",
                        "--force"], check=True, capture_output=True)
        os.chmod(self.dir("munge", "key"), 0o600)
        d = self.dir
        conf = f"""# Written by tests/scripts/slurm_local.py: a private single-node cluster.
ClusterName=weft-test
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={d('state')}
SlurmdSpoolDir={d('spool')}
SlurmctldPidFile={d('run', 'slurmctld.pid')}
SlurmdPidFile={d('run', 'slurmd.pid')}
SlurmctldLogFile={self.logs['slurmctld']}
SlurmdLogFile={self.logs['slurmd']}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/linear
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=300
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
PlugStackConfig={d('etc', 'plugstack.conf')}
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={real_memory_mb()} State=UNKNOWN
PartitionName=weft Nodes={self.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=EXCLUSIVE
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        open(d("etc", "plugstack.conf"), "w").close()

    def _start(self, name, argv):
        log = open(self.dir("log", f"{name}.stdout"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True)
        log.close()

    def _fail(self, what):
        text = [f"private Slurm: {what}"]
        for name in DAEMONS:
            p = self.procs.get(name)
            state = ("not started" if p is None else "running" if p.poll() is None
                     else f"exited {p.returncode}")
            text.append(f"--- {name} ({state}): {self.logs[name]}\n{tail(self.logs[name])}")
            text.append(f"--- {name} stdout\n{tail(self.dir('log', f'{name}.stdout'), 15)}")
        raise SlurmStartError("\n".join(text))

    def _wait(self, what, ok, timeout_s, daemon):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            p = self.procs.get(daemon)
            if p is not None and p.poll() is not None:
                self._fail(f"{daemon} exited with {p.returncode} while waiting for {what}")
            if ok():
                return
            time.sleep(0.2)
        self._fail(f"timed out after {timeout_s} s waiting for {what}")

    def _client(self, *argv, timeout=20):
        return subprocess.run([which(argv[0]), *argv[1:]], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self):
        self._write_config()
        d = self.dir
        self._start("munged", [which("munged"), "-F", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={d('munge', 'key')}",
                               f"--pid-file={d('run', 'munged.pid')}",
                               f"--log-file={self.logs['munged']}",
                               f"--seed-file={d('munge', 'seed')}"])
        self._wait("munged's socket", lambda: os.path.exists(self.munge_socket), 15, "munged")
        self._start("slurmctld", [which("slurmctld"), "-D", "-c", "-i", "-f", self.conf])
        self._wait("slurmctld to answer", lambda: self._client("scontrol", "ping").returncode == 0
                   and "UP" in self._client("scontrol", "ping").stdout, 30, "slurmctld")
        self._start("slurmd", [which("slurmd"), "-D", "-f", self.conf, "-N", self.node])

        def idle():
            r = self._client("sinfo", "-h", "-N", "-o", "%T")
            return r.returncode == 0 and r.stdout.strip().rstrip("*") in ("idle", "mixed")
        self._wait(f"node {self.node} to become idle", idle, 45, "slurmd")
        return self

    # -- use -------------------------------------------------------------------------------
    def wait_jobs(self, job_ids, timeout_s):
        """Wait until none of job_ids is queued or running; their final states
        ({job_id_or_array_element: state}) from scontrol."""
        deadline = time.monotonic() + timeout_s
        ids = ",".join(job_ids)
        while True:
            r = self._client("squeue", "-h", "-j", ids, "-o", "%i %T")
            if r.returncode == 0 and not r.stdout.strip():
                break
            for name in ("slurmctld", "slurmd"):
                if self.procs[name].poll() is not None:
                    self._fail(f"{name} exited while jobs {ids} ran")
            if time.monotonic() > deadline:
                self._fail(f"jobs {ids} still queued or running after {timeout_s} s:\n"
                           + r.stdout + r.stderr)
            time.sleep(0.5)
        states = {}
        for j in job_ids:
            r = self._client("scontrol", "-o", "show", "job", j)
            for line in r.stdout.splitlines():
                f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                key = f.get("JobId", j)
                if "ArrayTaskId" in f:
                    key = f"{f.get('ArrayJobId', j)}_{f['ArrayTaskId']}"
                states[key] = f.get("JobState", "?")
        return states

    # -- tear-down -------------------------------------------------------------------------
    def stop(self):
        for name in reversed(DAEMONS):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False
