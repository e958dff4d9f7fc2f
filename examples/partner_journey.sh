#!/bin/sh
# A VC partner's journey over HTTP/JSON with nothing but curl (and sed): list the introductions your firm may
# answer, accept the first, read it back. The same calls as the gRPC API, at the same door (key, limits, audit).
#
#   sh examples/partner_journey.sh                 # make run's demo: https://127.0.0.1:50073, var/partner-key
#
# Settings: HUB_PARTNER_URL (default https://127.0.0.1:50073), HUB_PARTNER_KEY (default: the contents of
# var/partner-key), HUB_PARTNER_CACERT (default var/tls/partner.crt, make run's self-signed certificate; empty
# for a certificate your system trusts), HUB_PARTNER_REASON (what the company reads with your answer).
set -eu

URL=${HUB_PARTNER_URL:-https://127.0.0.1:50073}
KEY=${HUB_PARTNER_KEY:-$(cat var/partner-key)}
CACERT=${HUB_PARTNER_CACERT-var/tls/partner.crt}
REASON=${HUB_PARTNER_REASON:-미팅을 원합니다}
API="$URL/hub.investors.v1.PartnerService"

# call METHOD JSON: POST the JSON body to the method; the answer's JSON on stdout. The key goes in a header
# read from stdin, never on the command line (where `ps` would show it). An error is JSON too
# ({"code": "not_found", "message": …, "details": […]}), printed to stderr, and the script stops.
call() {
    answer=$(printf 'Authorization: Bearer %s\n' "$KEY" |
        curl --silent --show-error --fail-with-body ${CACERT:+--cacert "$CACERT"} \
            -H @- -H 'Content-Type: application/json' -d "$2" "$API/$1") || {
        echo "$1 failed: $answer" >&2
        exit 1
    }
    printf '%s\n' "$answer"
}

# The first name "introductions/N" in a JSON answer.
first_introduction() {
    tr ',{' '\n\n' | sed -n 's/^ *"name": *"\(introductions\/[0-9]*\)".*/\1/p' | head -n 1
}

echo "1. Introductions waiting for your answer (the company has consented):"
waiting=$(call ListIntroductions '{"filter": "state=COMPANY_CONSENTED", "pageSize": 10}')
echo "$waiting"
name=$(echo "$waiting" | first_introduction)
if [ -z "$name" ]; then
    echo "nothing waits for an answer" >&2
    exit 2
fi

echo "2. Accepting $name:"
call RespondToIntroduction "{\"name\": \"$name\", \"accept\": true, \"reason\": \"$REASON\"}"

echo "3. $name as the hub now has it:"
now=$(call GetIntroduction "{\"name\": \"$name\"}")
echo "$now"
case $now in
*'"state": "INTRODUCTION_STATE_PARTNER_ACCEPTED"'* | *'"state":"INTRODUCTION_STATE_PARTNER_ACCEPTED"'*)
    echo "accepted: $name" ;;
*)
    echo "$name is not accepted" >&2
    exit 1 ;;
esac
