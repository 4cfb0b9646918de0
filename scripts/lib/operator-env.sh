# Shared by scripts/demo and scripts/bench-operator (sourced, not run): a local control plane,
# a Git repository served by `git daemon` on loopback, the CRDs, and the operator as a process.
#
# After `openv_start PROFILE`: $WORK (removed at exit unless KEEP=1), $GITOPS, $OPERATOR,
# $KUBECONFIG exported. `openv_serve DIR` commits DIR into a bare repository served on loopback
# and sets $REPO_URL and $CLONE; `openv_commit MESSAGE` commits and pushes $CLONE again;
# `openv_install_crds`; `openv_operator ARGS...` starts the operator (pid in $OPERATOR_PID, log
# in $WORK/operator.log). Everything started is stopped at exit.

openv_log() { printf '\033[1m%s:\033[0m %s\n' "${OPENV_NAME:-openv}" "$*" >&2; }

OPENV_PIDS=()
openv_cleanup() {
    local pid
    for pid in "${OPENV_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${OPENV_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    GITOPS_TESTENV_DIR=$WORK/testenv scripts/testenv down >/dev/null 2>&1 || true
    if [ "${KEEP:-}" = 1 ]; then openv_log "kept $WORK"; else rm -rf "$WORK"; fi
    openv_log "stopped"
}

# openv_start PROFILE (release|dev): installs, builds, starts the control plane.
openv_start() {
    local profile=$1 target
    scripts/install-deps
    scripts/testenv build
    openv_log "building gitops and gitops-operator ($profile)"
    if [ "$profile" = release ]; then
        cargo build --release -q -p gitops-cli -p gitops-operator
        target=${CARGO_TARGET_DIR:-$PWD/target}/release
    else
        cargo build -q -p gitops-cli -p gitops-operator
        target=${CARGO_TARGET_DIR:-$PWD/target}/debug
    fi
    GITOPS=$target/gitops
    OPERATOR=$target/gitops-operator
    WORK=$(mktemp -d -t "gitops-${OPENV_NAME:-openv}.XXXXXX")
    trap openv_cleanup EXIT
    trap 'exit 130' INT TERM
    openv_log "starting the control plane"
    export GITOPS_TESTENV_DIR=$WORK/testenv
    eval "$(scripts/testenv up --owner-pid $$)"
    export KUBECONFIG
}

# openv_serve DIR: a bare repository `repo.git` with DIR's files on `main`, served by git daemon.
# `@REPO_URL@` in the files is replaced by the repository's URL.
openv_serve() {
    local src=$1 port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    REPO_URL=git://127.0.0.1:$port/repo.git
    CLONE=$WORK/clone
    mkdir -p "$WORK/git" "$CLONE"
    git init -q --bare -b main "$WORK/git/repo.git"
    cp -R "$src"/. "$CLONE/"
    grep -rl '@REPO_URL@' "$CLONE" | xargs -r sed -i "s|@REPO_URL@|$REPO_URL|g"
    git -C "$CLONE" init -q -b main
    git -C "$CLONE" remote add origin "$WORK/git/repo.git"
    openv_commit "initial"
    git daemon --reuseaddr --export-all --base-path="$WORK/git" --listen=127.0.0.1 --port="$port" \
        "$WORK/git" 2>"$WORK/git-daemon.log" &
    OPENV_PIDS+=($!)
}

# openv_commit MESSAGE: commits everything in $CLONE and pushes it.
openv_commit() {
    git -C "$CLONE" add -A
    git -C "$CLONE" -c user.name=gitops -c user.email=gitops@gitops.invalid commit -q -m "$1"
    git -C "$CLONE" push -q origin main
}

# openv_install_crds: the CRDs and Namespace of `gitops install --export`, applied (the operator
# runs as a process here, not as the exported Deployment).
openv_install_crds() {
    mkdir -p "$WORK/install"
    "$GITOPS" install --export |
        awk 'BEGIN { RS = "\n---\n" } /(^|\n)kind: (CustomResourceDefinition|Namespace)(\n|$)/ { print "---"; print }' \
            >"$WORK/install/crds.yaml"
    "$GITOPS" apply "$WORK/install" --inventory-name gitops-crds --wait --timeout 2m >/dev/null
}

# openv_operator ARGS...: starts the operator with the control plane's kubeconfig.
openv_operator() {
    "$OPERATOR" --kubeconfig "$KUBECONFIG" --storage-path "$WORK/storage" \
        --http-addr 127.0.0.1:0 "$@" 2>"$WORK/operator.log" &
    OPERATOR_PID=$!
    OPENV_PIDS+=("$OPERATOR_PID")
}

# openv_all_ready MIN [HEAD]: exit 0 when `gitops get units -A` lists at least MIN units, all
# Ready (and, with HEAD, each at that commit).
openv_all_ready() {
    local min=$1 head=${2:-}
    "$GITOPS" get units -A -o json | python3 -c '
import json, sys
rows, want, head = json.load(sys.stdin), int(sys.argv[1]), sys.argv[2]
ok = len(rows) >= want and all(r.get("ready") == "True" and head in r.get("revision", "") for r in rows)
sys.exit(0 if ok else 1)
' "$min" "$head" 2>/dev/null
}
