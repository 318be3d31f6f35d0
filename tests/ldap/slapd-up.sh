#!/usr/bin/env bash
# A throwaway OpenLDAP directory for the LDAP tests (sso-and-mfa §5.2): Debian's slapd on
# loopback, its own config, database and certificate in DIR, loaded with the users and groups
# below. Not a daemon: slapd stays attached (-d 256, stats logged to DIR/slapd.log, which shows
# every filter and whether TLS was up); the PID is printed, stop it with `kill PID`. DIR/ca.pem
# is the CA of its certificate (the TLS tests' --ldap-ca-file).
#
# Usage: bash tests/ldap/slapd-up.sh [DIR] [LDAP_PORT] [LDAPS_PORT]
#   DIR         default: a new temporary directory
#   LDAP_PORT   ldap:// with StartTLS, default 3890
#   LDAPS_PORT  ldaps://, default 6360
# Environment:
#   SLAPD_WATCH_PID  stop slapd when this process is gone (the test process that started it)
# slapd and ldap-utils are installed with apt-get (non-interactively) when missing.
#
# The directory (dc=example,dc=test; passwords are the uid followed by "pw"):
#   cn=svc,dc=example,dc=test / svcpw    the service account of search-and-bind
#   alice   cvat-admins, cvat-workers    mail alice@example.test
#   bobby   cvat-workers
#   carol   locked (ppolicy pwdAccountLockedTime): every bind fails with 49
#   evelyn  employeeType=disabled: the tests' user filter leaves her out (she can still bind)
#   dan(ops)  cvat-workers (a DN that needs escaping in filters)
#   grace, henry, isaac, julia  cvat-workers (grace also cvat-admins); tests change them
set -euo pipefail

D=${1:-$(mktemp -d)}
LDAP_PORT=${2:-3890}
LDAPS_PORT=${3:-6360}
mkdir -p "$D/db"

if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ] || ! command -v ldapwhoami >/dev/null 2>&1; then
    echo "slapd-up: installing Debian's slapd and ldap-utils" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq slapd ldap-utils; } >&2
fi
export PATH="$PATH:/usr/sbin"

SCHEMA=$(dirname "$(dpkg -L slapd | grep -m1 '/schema/core.schema$')")
MODS=$(dirname "$(dpkg -L slapd | grep -m1 '/back_mdb.la$')")
# A throwaway CA ($D/ca.pem, what clients trust) and the server's certificate signed by it
# (rustls, unlike OpenSSL's tools, refuses a self-signed CA certificate as a server's own).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=slapd-up test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$D/ca-key.pem" -out "$D/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$D/key.pem" -out "$D/cert.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$D/cert.ext"
openssl x509 -req -in "$D/cert.csr" -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -CAcreateserial -days 2 \
  -extfile "$D/cert.ext" -out "$D/cert.pem" 2>/dev/null
cat > "$D/slapd.conf" <<EOF
include $SCHEMA/core.schema
include $SCHEMA/cosine.schema
include $SCHEMA/inetorgperson.schema
include $SCHEMA/nis.schema
modulepath $MODS
moduleload back_mdb
moduleload ppolicy
pidfile $D/slapd.pid
TLSCertificateFile $D/cert.pem
TLSCertificateKeyFile $D/key.pem
database mdb
maxsize 10485760
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
rootpw adminpw
directory $D/db
overlay ppolicy
ppolicy_default "cn=default,ou=policies,dc=example,dc=test"
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by * none
EOF

person() {  # person UID GIVEN SN [extra LDIF lines...]
    local uid=$1 given=$2 sn=$3
    shift 3
    printf 'dn: uid=%s,ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\nmail: %s@example.test\nuserPassword: %spw\n' \
        "$uid" "$uid" "$given" "$sn" "$given" "$sn" "$uid" "$uid"
    for line in "$@"; do printf '%s\n' "$line"; done
    echo
}
member() { printf 'member: uid=%s,ou=people,dc=example,dc=test\n' "$@"; }

{
cat <<'EOF'
dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=test
objectClass: organizationalUnit
ou: groups

dn: ou=policies,dc=example,dc=test
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,dc=example,dc=test
objectClass: applicationProcess
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE

dn: cn=svc,dc=example,dc=test
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: svc
userPassword: svcpw

EOF
person alice Alice Admin
person bobby Bobby Worker
person carol Carol Locked "pwdAccountLockedTime: 000001010000Z"
person evelyn Evelyn Disabled "employeeType: disabled"
person 'dan(ops)' Dan Ops
person grace Grace Hopper
person henry Henry Ford
person isaac Isaac Newton
person julia Julia Local
echo "dn: cn=cvat-admins,ou=groups,dc=example,dc=test"
echo "objectClass: groupOfNames"
echo "cn: cvat-admins"
member alice grace
echo
echo "dn: cn=cvat-workers,ou=groups,dc=example,dc=test"
echo "objectClass: groupOfNames"
echo "cn: cvat-workers"
member alice bobby 'dan(ops)' grace henry isaac julia
echo
} > "$D/data.ldif"

slapadd -f "$D/slapd.conf" -l "$D/data.ldif" >/dev/null 2>"$D/slapadd.log"
slapd -d 256 -f "$D/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/" >"$D/slapd.log" 2>&1 &
PID=$!
up=""
for _ in $(seq 100); do
    if ldapwhoami -x -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=svc,dc=example,dc=test -w svcpw >/dev/null 2>&1; then
        up=1
        break
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "slapd-up: slapd did not come up; its log:" >&2
    cat "$D/slapd.log" >&2
    kill "$PID" 2>/dev/null || true
    exit 1
fi
if [ -n "${SLAPD_WATCH_PID:-}" ]; then
    # The watchdog: slapd goes when the process that wanted it does.
    nohup bash -c "while kill -0 $SLAPD_WATCH_PID 2>/dev/null && kill -0 $PID 2>/dev/null; do sleep 1; done; kill $PID 2>/dev/null" \
        >/dev/null 2>&1 &
fi
echo "$PID"
