package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A page server facing a peer that breaks the protocol: each fault ends the session with one line that names
 * the peer and the fault, and the directory is left as it was (nothing that looks like a dump, nothing
 * outside it).
 */
class HostilePeerTest {
    private static final int OPEN2 = 4, ADD_F = 6, PE_PRESENT = 4;

    @TempDir
    Path tmp;
    private Path dir;
    private Path outside;

    @BeforeEach
    void directories() throws IOException {
        dir = Files.createDirectory(tmp.resolve("images"));
        outside = Files.writeString(tmp.resolve("outside.txt"), "not for the page server");
    }

    /** A page_server_iov as CRIU lays it out: u32 cmd, 4 bytes of padding, u64 nr_pages, vaddr, dst_id. */
    private static byte[] command(int cmd, long nrPages, long vaddr, long dstId) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(cmd).putInt(0).putLong(nrPages).putLong(vaddr)
                .putLong(dstId).array();
    }

    private static long pagemap(long pid) {
        return (pid << 8) | 1;
    }

    /** Runs {@code client} against a fresh server; returns the line its session failed with. */
    private String serverFailure(Client client) throws Exception {
        try (RunningServer s = RunningServer.start(dir)) {
            try (Socket sk = new Socket(RunningServer.LOOPBACK, s.port())) {
                client.talk(sk, sk.getOutputStream());
            }
            return s.failure();
        }
    }

    @FunctionalInterface
    interface Client {
        void talk(Socket sk, OutputStream out) throws IOException;
    }

    /** The directory holds nothing the session wrote, and the file beside it is untouched. */
    private void assertLeftAsItWas() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("images", "outside.txt");
        }
        assertThat(Files.readString(outside)).isEqualTo("not for the page server");
    }

    /** OPEN2 of pid 5 and one page, answered and complete: what a fault after it must take back. */
    private static void oneGoodPage(Socket sk, OutputStream out) throws IOException {
        out.write(command(OPEN2, 0, 0, pagemap(5)));
        out.flush();
        assertThat(sk.getInputStream().read()).as("has-parent answer").isZero();
        out.write(command(ADD_F | PE_PRESENT << 16, 1, 0x400000, pagemap(5)));
        out.write(new byte[4096]);
    }

    @Test
    void aTruncatedHeaderIsNamed() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(ADD_F, 1, 0x401000, pagemap(5)), 0, 12);
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: the connection ended inside a command header \\(12 of 32 bytes\\)");
        assertLeftAsItWas();
    }

    @Test
    void anUnknownCommandIsNamed() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(0x99, 0, 0, pagemap(5)));
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: unknown command 0x99 \\(flags 0x0\\)");
        assertLeftAsItWas();
    }

    @Test
    void pagesThatWouldOverflowAreRefused() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(ADD_F | PE_PRESENT << 16, 1L << 52, 0x402000, pagemap(5)));
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: 4503599627370496 pages at 0x402000 in pagemap-5\\.img would overflow .*");
        assertLeftAsItWas();
    }

    @Test
    void anUnalignedAddressIsRefused() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(ADD_F | PE_PRESENT << 16, 1, 0x402010, pagemap(5)));
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: vaddr 0x402010 in pagemap-5\\.img is not page-aligned");
        assertLeftAsItWas();
    }

    @Test
    void pagesForAnImageNeverOpenedAreRefused() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(ADD_F | PE_PRESENT << 16, 1, 0x402000, pagemap(6)));
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: pages for pagemap-6\\.img, which was never opened");
        assertLeftAsItWas();
    }

    @Test
    void aSecondOpenOfOneImageIsRefused() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(OPEN2, 0, 0, pagemap(6)));  // commits pagemap-5.img
            out.flush();
            sk.getInputStream().read();
            out.write(command(OPEN2, 0, 0, pagemap(5)));  // would write it again
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: a second OPEN2 of pagemap-5\\.img in one session");
        assertLeftAsItWas();
    }

    @Test
    void aConnectionDroppedInsideThePagesIsNamed() throws Exception {
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(ADD_F | PE_PRESENT << 16, 16, 0x500000, pagemap(5)));
            out.write(new byte[5 * 4096]);
        });
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: the connection ended inside the pages of pagemap-5\\.img at 0x500000 \\(20480 of 65536 bytes\\)");
        assertLeftAsItWas();
    }

    @Test
    void aConnectionDroppedBetweenCommandsLeavesNoDump() throws Exception {
        String why = serverFailure(HostilePeerTest::oneGoodPage);
        assertThat(why).matches("127\\.0\\.0\\.1:\\d+: the connection ended before CLOSE: the dump is incomplete");
        assertLeftAsItWas();
    }

    @Test
    void aLinkPlantedUnderAnImageNameIsNotFollowed() throws Exception {
        Files.createSymbolicLink(dir.resolve("pages-65537.img"), outside);
        Files.createSymbolicLink(dir.resolve("pagemap-5.img"), outside);
        String why = serverFailure((sk, out) -> {
            oneGoodPage(sk, out);
            out.write(command(OPEN2, 0, 0, pagemap(6)));  // commits pagemap-5.img and pages-65537.img
            out.flush();
            sk.getInputStream().read();
            out.write(command(0x99, 0, 0, 0));
        });
        assertThat(why).contains("unknown command");
        // the images replaced the links (rename(2) replaces a link, never writes through it), then went with the session
        assertLeftAsItWas();
    }
}
