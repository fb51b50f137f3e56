package dagmoe.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The shared corpora folder (../shared/data from the repository root), or null files when absent. */
final class SharedData {
    private SharedData() {}

    /** The file, or null when the shared folder (or the file) is not there. */
    static Path file(String name) {
        // tests run in the module folder (framework/); the repository root is its parent
        for (Path base : new Path[] {Paths.get("../../shared/data"), Paths.get("../shared/data")}) {
            Path p = base.resolve(name);
            if (Files.isRegularFile(p)) return p.toAbsolutePath().normalize();
        }
        return null;
    }
}
