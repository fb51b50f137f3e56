package dagmoe.data;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/** UTF-8 bytes as token ids: vocab 256, no training, no unknown tokens. */
public final class ByteTokenizer implements Tokenizer {
    public static final String NAME = "byte";

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > 255) {
                throw new IllegalArgumentException("byte tokenizer: id " + ids[i] + " at " + i + " is outside [0, 256)");
            }
            b[i] = (byte) ids[i];
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return 256;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void save(Path dir) {
        Tokenizers.writeJson(dir, Map.of("type", NAME, "vocab_size", 256));
    }
}
