package dev.cryo.cli.command;

import java.nio.file.Path;

import dev.cryo.cli.Failure;
import dev.cryo.pagexfer.Tls;
import picocli.CommandLine.Option;

/** CRIU's TLS options for page-server connections (PEM files; CRIU's default paths where not given). */
final class TlsOptions {
    @Option(names = "--tls", description = "Encrypt and authenticate the page-server connection with TLS (both sides need it).")
    boolean tls;

    @Option(names = "--tls-cacert", paramLabel = "FILE",
            description = "PEM certificate(s) of the CA that signs both sides' certificates. Default: /etc/pki/CA/cacert.pem.")
    Path caCert;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "This side's PEM certificate. Default: /etc/pki/criu/cert.pem.")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "This side's PEM private key (PKCS#8, or RSA PKCS#1), unencrypted. Default: /etc/pki/criu/private/key.pem.")
    Path key;

    @Option(names = "--tls-no-cn-verify", description = "Do not check that the server's certificate names the address connected to.")
    boolean noNameCheck;

    /** The TLS set-up asked for, or null without --tls (the file options then make no sense). */
    Tls tls() {
        if (!tls) {
            if (caCert != null || cert != null || key != null || noNameCheck) {
                throw new Failure("--tls-cacert, --tls-cert, --tls-key and --tls-no-cn-verify need --tls");
            }
            return null;
        }
        return new Tls(caCert, cert, key, !noNameCheck);
    }
}
