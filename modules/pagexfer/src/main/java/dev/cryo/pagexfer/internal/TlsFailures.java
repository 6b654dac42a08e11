package dev.cryo.pagexfer.internal;

import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;

import javax.net.ssl.SSLException;

/** Says in a few words why a TLS handshake failed, from what the JDK's engine threw. */
final class TlsFailures {
    private TlsFailures() {}

    static String describe(SSLException e, boolean client) {
        String m = String.valueOf(e.getMessage());
        String peer = client ? "the server" : "the client";
        if (m.contains("Unsupported or unrecognized SSL message") || m.contains("plaintext connection")) {
            return "not a TLS " + (client ? "server" : "client") + " (its first bytes are no TLS handshake)";
        }
        if (m.contains("Empty client certificate chain") || m.contains("Empty server certificate chain")) {
            return peer + " sent no certificate";
        }
        if (m.contains("No subject alternative") || m.contains("No name matching")) {
            return "the server's certificate does not name this address (" + m + "; --tls-no-cn-verify skips the check)";
        }
        if (hasCause(e, CertPathValidatorException.class) || m.contains("PKIX path") || m.contains("certification path")) {
            return "TLS refused: " + peer + "'s certificate is not signed by the CA cryo trusts";
        }
        if (m.startsWith("Received fatal alert")) {
            return "TLS refused by " + peer + " (" + m.substring("Received fatal alert: ".length()) + ")";
        }
        if (hasCause(e, CertificateException.class)) {
            return "TLS refused: " + peer + "'s certificate: " + m;
        }
        return "TLS handshake failed: " + m;
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> c) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (c.isInstance(x)) {
                return true;
            }
        }
        return false;
    }
}
