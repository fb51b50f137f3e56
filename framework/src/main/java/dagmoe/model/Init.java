package dagmoe.model;

import java.util.SplittableRandom;

/**
 * Deterministic initialisation, identical on every backend: the parameter named n draws from
 * {@code new SplittableRandom(seed * 1_000_003 + crc32(n))} (the seeding rule of the PyTorch reference:
 * a parameter's values depend on its name only, so a sum and a dag model of the same seed share all
 * common weights). Normal samples use Box-Muller on {@code nextDouble()} (both outputs of each pair, in order).
 */
final class Init {
    enum Kind { NORMAL, ONES, ZEROS }

    private Init() {}

    static long seedFor(long seed, String name) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return seed * 1_000_003L + crc.getValue();
    }

    static void fill(float[] w, Kind kind, double std, long paramSeed) {
        switch (kind) {
            case ONES -> java.util.Arrays.fill(w, 1f);
            case ZEROS -> java.util.Arrays.fill(w, 0f);
            case NORMAL -> {
                SplittableRandom r = new SplittableRandom(paramSeed);
                for (int i = 0; i < w.length; i += 2) {
                    double u1 = 1.0 - r.nextDouble(); // (0, 1]
                    double u2 = r.nextDouble();
                    double rad = Math.sqrt(-2.0 * Math.log(u1));
                    w[i] = (float) (std * rad * Math.cos(2 * Math.PI * u2));
                    if (i + 1 < w.length) w[i + 1] = (float) (std * rad * Math.sin(2 * Math.PI * u2));
                }
            }
        }
    }
}
