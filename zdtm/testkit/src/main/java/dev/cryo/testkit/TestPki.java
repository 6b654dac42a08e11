package dev.cryo.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made at test time with the openssl command (Debian's): a CA, and certificates it signs, each
 * with its PKCS#8 key, valid for a day. Nothing of it is committed.
 */
public final class TestPki {
    private final Path dir;
    private final String name;

    private TestPki(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new CA named {@code name}, its files in {@code dir}. */
    public static TestPki ca(Path dir, String name) throws IOException, InterruptedException {
        TestPki ca = new TestPki(dir, name);
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + "-ca.key", "-out", name + "-ca.pem", "-days", "1", "-subj", "/CN=" + name + " test CA");
        return ca;
    }

    public Path cert() {
        return dir.resolve(name + "-ca.pem");
    }

    /** PEM files of one side: the CA's certificate, its own certificate and its key. */
    public record Issued(Path caCert, Path cert, Path key) {}

    /** A certificate for {@code who} signed by this CA, naming IP {@code ip} (or nothing). */
    public Issued issue(String who, String ip) throws IOException, InterruptedException {
        String base = name + "-" + who;
        openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", base + ".key",
                "-out", base + ".csr", "-subj", "/CN=" + who);
        Path ext = Files.writeString(dir.resolve(base + ".ext"), ip == null ? "basicConstraints=CA:FALSE\n"
                : "basicConstraints=CA:FALSE\nsubjectAltName=IP:" + ip + "\n");
        openssl(dir, "x509", "-req", "-in", base + ".csr", "-CA", name + "-ca.pem", "-CAkey", name + "-ca.key", "-CAcreateserial",
                "-out", base + ".pem", "-days", "1", "-extfile", ext.getFileName().toString());
        return new Issued(cert(), dir.resolve(base + ".pem"), dir.resolve(base + ".key"));
    }

    private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }
}
