#!/usr/bin/env bash
# Sourced by scripts/test-deps.sh and scripts/images.sh: the Debian mirror this machine's apt uses, so that no
# mirror host name is written in the repository. DEBIAN_MIRROR overrides it.
# The Debian mirror this machine's apt uses: the first enabled `deb` source of the host's own release (its
# codename, from /etc/os-release) in /etc/apt/sources.list, /etc/apt/sources.list.d/*.list (one-line format)
# or /etc/apt/sources.list.d/*.sources (deb822). Prints the URI, or fails naming the files it read.
debian_mirror() {
    local codename uri
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
    if [ -z "$codename" ]; then
        echo "${0##*/}: /etc/os-release names no VERSION_CODENAME; set DEBIAN_MIRROR to a Debian mirror URL" >&2
        return 1
    fi
    uri=$(
        shopt -s nullglob
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            # deb [options] uri suite component...
            sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
                awk -v s="$codename" '$1 == "deb" && $3 == s { print $2; exit }'
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            # deb822: blank-line separated stanzas of `Field: value`.
            awk -v s="$codename" '
                function flush() {
                    if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " s " ")) {
                        split(uris, u, " "); print u[1]; found = 1; exit
                    }
                    types = ""; uris = ""; suites = ""; enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                {
                    field = tolower($1); sub(/:$/, "", field); $1 = ""; sub(/^ +/, "")
                    if (field == "types") types = $0
                    else if (field == "uris") uris = $0
                    else if (field == "suites") suites = $0
                    else if (field == "enabled") enabled = tolower($0)
                }
                END { if (!found) flush() }' "$f"
        done | head -1
    )
    if [ -z "$uri" ]; then
        echo "${0##*/}: no enabled 'deb' source for $codename in /etc/apt/sources.list," \
            "/etc/apt/sources.list.d/*.list or *.sources; set DEBIAN_MIRROR to a Debian mirror URL" >&2
        return 1
    fi
    echo "${uri%/}"
}
