# Sourced by ./cryo and scripts/test: finds a JDK 25 or newer and sets CRYO_JAVA_HOME to it.
#
# Looks at, in order: $JAVA_HOME, /usr/lib/jvm/*25* (e.g. temurin-25-jdk-amd64), the `java` on PATH.
# Prints one line and returns 1 when none is 25 or newer.

# The feature version (17, 21, 25...) of the JDK at $1, from its release file or by asking its java.
cryo_jdk_version() {
    local home=$1 v=
    [ -x "$home/bin/java" ] || return 1
    if [ -r "$home/release" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
    fi
    if [ -z "$v" ]; then
        v=$("$home/bin/java" -XX:-UsePerfData -XshowSettings:properties -version 2>&1 \
            | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
    fi
    [ -n "$v" ] && echo "$v"
}

cryo_find_jdk() {
    local candidate v java
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
        [ -n "$candidate" ] || continue
        v=$(cryo_jdk_version "$candidate") || continue
        if [ "$v" -ge 25 ]; then
            CRYO_JAVA_HOME=$candidate
            return 0
        fi
    done
    if java=$(command -v java); then
        candidate=$(dirname "$(dirname "$(readlink -f "$java")")")
        v=$(cryo_jdk_version "$candidate") || v=0
        if [ "$v" -ge 25 ]; then
            CRYO_JAVA_HOME=$candidate
            return 0
        fi
    fi
    echo "cryo: needs JDK 25 or newer; none found in \$JAVA_HOME, /usr/lib/jvm/*25* or on PATH; install one (e.g. Eclipse Temurin 25) or set JAVA_HOME" >&2
    return 1
}
