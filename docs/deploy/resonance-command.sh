# `resonance ARGS` run as the service runs: as its user, with its settings.
resonance() {
  sudo -u resonance env RESONANCE_DATA_DIR=/var/lib/resonance \
    sh -c 'set -a && . /etc/resonance.env && exec "$0" "$@"' \
    /opt/resonance/venv/bin/resonance "$@"
}
