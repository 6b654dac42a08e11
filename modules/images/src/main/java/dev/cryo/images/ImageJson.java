package dev.cryo.images;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;

import dev.cryo.syscalls.Page;

/**
 * An image as JSON, shaped like {@code crit decode}'s output:
 * {@code {"magic": "CORE", "entries": [...]}}, with field names as in the
 * .proto files and payloads as base64 under "extra". A pages image, which
 * holds only page data, is shown as its size. For {@code cryo show}.
 *
 * <p>Unlike crit, 64-bit numbers are JSON strings (protobuf's JSON mapping).
 */
public final class ImageJson {
    /** Payloads larger than this are summarised, as crit does with --nopl. */
    static final int MAX_SHOWN_PAYLOAD = 64 * 1024;

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer()
            .preservingProtoFieldNames()
            .omittingInsignificantWhitespace();

    private ImageJson() {}

    /** The image file as JSON; its kind comes from its name, else from its magic. */
    public static String decode(Path file) {
        Path absolute = file.toAbsolutePath();
        return decode(new DirectoryImageStore(absolute.getParent()), absolute.getFileName().toString());
    }

    public static String decode(ImageStore store, String name) {
        ImageKind kind = ImageKind.ofFileName(name).orElseGet(() -> kindByMagic(store, name));
        JsonObject image = new JsonObject();
        image.addProperty("magic", kind.magicName());
        if (kind.isRaw()) {
            try (RawReader pages = store.openRawReader(name)) {
                image.addProperty("size", pages.size());
                image.addProperty("pages", pages.size() / Page.SIZE);
            }
        } else {
            image.add("entries", entries(store, kind, name));
        }
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(image);
    }

    private static JsonArray entries(ImageStore store, ImageKind kind, String name) {
        JsonArray entries = new JsonArray();
        try (EntryReader reader = EntryReader.start(kind, store.openRawReader(name))) {
            for (Message entry; (entry = reader.next()) != null; ) {
                JsonObject json = JsonParser.parseString(print(entry)).getAsJsonObject();
                long payload = reader.payloadRemaining();
                if (payload > MAX_SHOWN_PAYLOAD) {
                    reader.skipPayload();
                    json.addProperty("extra", "... <" + payload + " bytes>");
                } else if (payload > 0) {
                    json.addProperty("extra", Base64.getEncoder().encodeToString(reader.readPayload()));
                }
                entries.add(json);
            }
        }
        return entries;
    }

    private static String print(Message entry) {
        try {
            return PRINTER.print(entry);
        } catch (InvalidProtocolBufferException e) {
            // Only Any fields, which images do not have, can fail to print.
            throw new IllegalStateException(e);
        }
    }

    private static ImageKind kindByMagic(ImageStore store, String name) {
        try (RawReader reader = store.openRawReader(name)) {
            ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining() && reader.read(head, head.position()) > 0) {
                // keep reading: a short read is not the end
            }
            head.flip();
            if (head.remaining() < 4) {
                throw new ImageFormatException(name, 0, "truncated at offset 0 (too short to hold a magic)");
            }
            int magic = head.getInt();
            if ((magic == ImageMagic.IMG_COMMON || magic == ImageMagic.IMG_SERVICE) && head.remaining() >= 4) {
                magic = head.getInt();
            }
            int found = magic;
            return ImageKind.ofMagic(found).orElseThrow(() -> new ImageFormatException(name, head.position() - 4,
                    "unknown magic " + ImageMagic.hex(found) + " at offset " + (head.position() - 4)));
        }
    }
}
