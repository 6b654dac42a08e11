package dev.cryo.pagexfer.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.Tls;

/**
 * An {@link SSLContext} from PEM files, as CRIU's GnuTLS setup reads them: the CA certificate(s) to trust,
 * this side's certificate (chain) and its private key, PKCS#8 ({@code BEGIN PRIVATE KEY}) or an RSA key in
 * PKCS#1 ({@code BEGIN RSA PRIVATE KEY}). A file that cannot be used is one line naming it.
 */
public final class TlsContexts {
    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    private static final char[] NO_PASSWORD = new char[0];

    private TlsContexts() {}

    /**
     * A context for a page server. A TLS 1.3 server of the JDK sends a NewSessionTicket after the handshake,
     * which CRIU's client (GnuTLS) meets as GNUTLS_E_AGAIN in its first read, the answer to OPEN2, and takes
     * for a server that does not answer: so none is sent (the JDK reads the count once, from a system property
     * that holds for every TLS server of this JVM; a page server resumes no sessions anyway).
     */
    public static SSLContext forServer(Tls tls) {
        System.setProperty("jdk.tls.server.newSessionTicketCount", "0");
        return of(tls);
    }

    public static SSLContext of(Tls tls) {
        try {
            List<Certificate> ca = certificates(tls.caCert(), "CA certificate");
            List<Certificate> chain = certificates(tls.cert(), "certificate");
            PrivateKey key = privateKey(tls.key());
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                trusted.setCertificateEntry("ca-" + i, ca.get(i));
            }
            KeyStore own = KeyStore.getInstance("PKCS12");
            own.load(null, null);
            own.setKeyEntry("own", key, NO_PASSWORD, chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509"); // its aliases are the key store's own
            kmf.init(own, NO_PASSWORD);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new javax.net.ssl.KeyManager[] {new OwnCertificate((X509ExtendedKeyManager) kmf.getKeyManagers()[0])},
                    tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new PageServerException("cannot set up TLS with " + tls.cert() + " and " + tls.key() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The one certificate of this side, whatever CAs the peer says it trusts: the JDK would send no certificate
     * when the server's list does not name its issuer, where GnuTLS (CRIU) sends it and lets the server say no.
     */
    private static final class OwnCertificate extends X509ExtendedKeyManager {
        private static final String ALIAS = "own";
        private final X509ExtendedKeyManager keys;

        OwnCertificate(X509ExtendedKeyManager keys) {
            this.keys = keys;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
            return keys.chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return keys.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return keys.getClientAliases(keyType, null);
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return keys.getServerAliases(keyType, issuers);
        }

        @Override
        public java.security.cert.X509Certificate[] getCertificateChain(String alias) {
            return keys.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return keys.getPrivateKey(alias);
        }
    }

    private static List<Certificate> certificates(Path file, String what) {
        byte[] pem = read(file, what);
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
            if (certs.isEmpty()) {
                throw new PageServerException("the " + what + " file " + file + " holds no certificate");
            }
            return new ArrayList<>(certs);
        } catch (CertificateException e) {
            throw new PageServerException("the " + what + " file " + file + " holds no PEM certificate (" + e.getMessage() + ")", e);
        }
    }

    private static PrivateKey privateKey(Path file) {
        String text = new String(read(file, "private key"), StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            switch (type) {
                case "PRIVATE KEY" -> {
                    return pkcs8(der, file);
                }
                case "RSA PRIVATE KEY" -> {
                    return pkcs8(rsaPkcs1ToPkcs8(der), file);
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new PageServerException("the private key " + file
                        + " is encrypted; cryo reads unencrypted keys (openssl pkcs8 -topk8 -nocrypt)");
                case "EC PRIVATE KEY" -> throw new PageServerException("the private key " + file
                        + " is an SEC1 EC key; convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
                default -> {
                    // another PEM block (EC PARAMETERS, a certificate): look further
                }
            }
        }
        throw new PageServerException("the private key file " + file + " holds no PEM private key");
    }

    private static PrivateKey pkcs8(byte[] der, Path file) {
        for (String alg : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
                // not this algorithm
            }
        }
        throw new PageServerException("the private key " + file + " is of no algorithm cryo knows (RSA, EC, Ed25519)");
    }

    /** PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo: version 0, rsaEncryption with NULL parameters. */
    private static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] len = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }

    private static byte[] read(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new PageServerException("the " + what + " file " + file + " does not exist");
        } catch (IOException e) {
            throw new PageServerException("cannot read the " + what + " file " + file + ": " + e.getMessage(), e);
        }
    }
}
