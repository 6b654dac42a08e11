package dev.cryo.pagexfer;

import java.nio.file.Path;

/**
 * TLS for a page-server connection, as CRIU's {@code --tls} has it: PEM files for the CA that signs both
 * sides' certificates, this side's certificate and its private key (PKCS#8). The server demands a client
 * certificate; the client checks the server's certificate, and unless {@code checkName} is false, that it
 * names the address it connected to.
 */
public record Tls(Path caCert, Path cert, Path key, boolean checkName) {
    /** CRIU's defaults for options not given. */
    public static final Path DEFAULT_CACERT = Path.of("/etc/pki/CA/cacert.pem");
    public static final Path DEFAULT_CERT = Path.of("/etc/pki/criu/cert.pem");
    public static final Path DEFAULT_KEY = Path.of("/etc/pki/criu/private/key.pem");

    public Tls {
        caCert = caCert == null ? DEFAULT_CACERT : caCert;
        cert = cert == null ? DEFAULT_CERT : cert;
        key = key == null ? DEFAULT_KEY : key;
    }
}
