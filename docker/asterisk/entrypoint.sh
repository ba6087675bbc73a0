#!/bin/sh
# Writes the ARI user from the secret's environment variables, then runs Asterisk in the foreground.
set -eu
: "${ARI_USERNAME:?ARI_USERNAME must be set (from the ari secret)}"
: "${ARI_PASSWORD:?ARI_PASSWORD must be set (from the ari secret)}"
umask 077
cat > /etc/asterisk/ari_users.conf <<CONF
[${ARI_USERNAME}]
type = user
read_only = no
password = ${ARI_PASSWORD}
CONF
mkdir -p /var/spool/asterisk/fax
exec asterisk -f -vvv
