package dev.cryo.images;

import static org.assertj.core.api.Assertions.fail;

import dev.cryo.images.SampleImages.Sample;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Damaged images, however damaged, only ever fail with ImageFormatException. */
class FuzzedImageTest {
    private static final int ROUNDS_PER_IMAGE = 2000;

    @Test
    void flippedTruncatedAndPatchedImagesOnlyThrowImageFormatException() {
        MemoryImageStore clean = new MemoryImageStore();
        SampleImages.all().forEach(s -> s.writeTo(clean));
        long seed = 20_250_101L;
        Random random = new Random(seed);
        int formatErrors = 0;
        int survived = 0;
        for (Sample sample : SampleImages.all()) {
            String name = sample.fileName();
            byte[] original = clean.bytes(name);
            for (int round = 0; round < ROUNDS_PER_IMAGE; round++) {
                byte[] damaged = damage(original, random);
                MemoryImageStore store = new MemoryImageStore();
                store.put(name, damaged);
                try {
                    readEverything(store, name);
                    ImageJson.decode(store, name);
                    survived++;
                } catch (ImageFormatException e) {
                    formatErrors++;
                } catch (Throwable t) {
                    fail("reading damaged " + name + " (round " + round + ", seed " + seed + ", bytes "
                            + Arrays.toString(damaged) + ") threw " + t, t);
                }
            }
        }
        System.out.printf("fuzz: %d format errors, %d damaged images still readable%n", formatErrors, survived);
    }

    private static void readEverything(ImageStore store, String name) {
        try (EntryReader reader = store.openReader(name)) {
            while (reader.next() != null) {
                if (reader.payloadRemaining() > 0 && reader.payloadRemaining() < 1 << 20) {
                    reader.readPayload();
                }
            }
        }
    }

    private static byte[] damage(byte[] original, Random random) {
        byte[] bytes = original.clone();
        switch (random.nextInt(5)) {
            case 0 -> {                                   // flip a few bits
                for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
                    bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));          // truncate
            case 2 -> {                                   // a random u32 where a size or magic may be
                int at = random.nextInt(Math.max(1, bytes.length - 3));
                if (at + 4 <= bytes.length) {
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, random.nextInt());
                }
            }
            case 3 -> {                                   // random garbage after the magics
                for (int i = 8; i < bytes.length; i++) {
                    if (random.nextInt(8) == 0) {
                        bytes[i] = (byte) random.nextInt();
                    }
                }
            }
            default -> {                                  // appended garbage
                byte[] tail = new byte[1 + random.nextInt(64)];
                random.nextBytes(tail);
                bytes = Arrays.copyOf(bytes, bytes.length + tail.length);
                System.arraycopy(tail, 0, bytes, original.length, tail.length);
            }
        }
        return bytes;
    }
}
