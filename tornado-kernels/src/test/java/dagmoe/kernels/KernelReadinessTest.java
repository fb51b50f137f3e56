package dagmoe.kernels;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TornadoVM readiness. Without TYPE_USE on the marker or without -g debug info, TornadoVM silently runs a
 * kernel on one thread; with a non-primitive parameter or a return value it cannot compile the task at all.
 */
class KernelReadinessTest {

    static final List<Class<?>> KERNELS = List.of(
            MatmulKernels.class, ElementwiseKernels.class, EmbeddingKernels.class, NormKernels.class,
            ActivationKernels.class, RopeKernels.class, AttentionKernels.class, RouterKernels.class,
            DispatchKernels.class, AggregationKernels.class, LossKernels.class, OptimizerKernels.class, GroupedKernels.class);

    @Test
    void parallelMarkerHasTypeUseLocalVariableAndRuntimeRetention() {
        Target target = Parallel.class.getAnnotation(Target.class);
        assertNotNull(target, "@Parallel needs @Target");
        Set<ElementType> targets = Set.of(target.value());
        assertTrue(targets.contains(ElementType.TYPE_USE), "TYPE_USE missing: " + targets);
        assertTrue(targets.contains(ElementType.LOCAL_VARIABLE), "LOCAL_VARIABLE missing: " + targets);
        Retention retention = Parallel.class.getAnnotation(Retention.class);
        assertNotNull(retention);
        assertEquals(RetentionPolicy.RUNTIME, retention.value());
    }

    static byte[] classBytes(Class<?> c) throws IOException {
        String res = "/" + c.getName().replace('.', '/') + ".class";
        try (InputStream in = c.getResourceAsStream(res)) {
            assertNotNull(in, "class file " + res + " not found");
            return in.readAllBytes();
        }
    }

    static boolean contains(byte[] hay, String needle) {
        byte[] n = needle.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + n.length <= hay.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (hay[i + j] != n[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void kernelClassFilesCarryLocalVariableTablesAndParallelTypeAnnotations() throws IOException {
        for (Class<?> c : KERNELS) {
            byte[] bytes = classBytes(c);
            assertTrue(contains(bytes, "LocalVariableTable"), c.getSimpleName() + " compiled without -g (no LocalVariableTable)");
            // @Parallel on a loop variable lands in the method's RuntimeVisibleTypeAnnotations.
            assertTrue(contains(bytes, "RuntimeVisibleTypeAnnotations"), c.getSimpleName() + " has no runtime type annotations");
            assertTrue(contains(bytes, "Ldagmoe/kernels/Parallel;"), c.getSimpleName() + " has no @Parallel loop");
        }
    }

    @Test
    void everyKernelClassInThePackageIsListed() throws URISyntaxException {
        URL url = MatmulKernels.class.getResource("MatmulKernels.class");
        assertNotNull(url);
        if (!"file".equals(url.getProtocol())) {
            return; // running from a jar: the explicit list above is what is checked
        }
        File dir = new File(url.toURI()).getParentFile();
        Set<String> onDisk = new TreeSet<>();
        for (String f : dir.list()) {
            if (f.endsWith("Kernels.class")) {
                onDisk.add(f.substring(0, f.length() - ".class".length()));
            }
        }
        Set<String> listed = new TreeSet<>();
        KERNELS.forEach(c -> listed.add(c.getSimpleName()));
        assertEquals(onDisk, listed);
    }

    @Test
    void kernelMethodsArePublicStaticVoidOverPrimitivesAndPrimitiveArrays() {
        for (Class<?> c : KERNELS) {
            assertTrue(Modifier.isFinal(c.getModifiers()), c.getSimpleName() + " should be final");
            int publicStatic = 0;
            for (Method m : c.getDeclaredMethods()) {
                if (m.isSynthetic()) {
                    continue;
                }
                assertTrue(Modifier.isStatic(m.getModifiers()), c.getSimpleName() + "." + m.getName() + " is not static");
                if (!Modifier.isPublic(m.getModifiers())) {
                    continue; // private helpers are inlined by TornadoVM; they are static (checked above)
                }
                publicStatic++;
                String sig = c.getSimpleName() + "." + m.getName() + Arrays.toString(m.getParameterTypes());
                assertEquals(void.class, m.getReturnType(), sig + " must return void");
                // TornadoVM 5.2 takes at most 15 task arguments (20 after TornadoVM #958): pack shapes into arrays
                assertTrue(m.getParameterCount() <= 15, sig + " takes " + m.getParameterCount()
                        + " arguments; a TornadoVM 5.2 task takes at most 15");
                for (Class<?> p : m.getParameterTypes()) {
                    boolean ok = (p.isPrimitive() && p != boolean.class)
                            || (p.isArray() && p.getComponentType().isPrimitive());
                    assertTrue(ok, sig + ": parameter type " + p.getSimpleName()
                            + " is not an int/float/double or a primitive array (flags are int 0/1)");
                }
            }
            assertTrue(publicStatic > 0, c.getSimpleName() + " has no kernel");
            for (Field f : c.getDeclaredFields()) {
                int mod = f.getModifiers();
                assertTrue(Modifier.isStatic(mod) && Modifier.isFinal(mod) && f.getType().isPrimitive(),
                        c.getSimpleName() + "." + f.getName() + ": kernels may only hold primitive constants");
            }
        }
    }

    /**
     * The classes a class file refers to (CONSTANT_Class entries of its constant pool, JVMS 4.4). A kernel that
     * allocates an object, throws, or calls a library shows up here with that class.
     */
    static Set<String> referencedClasses(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        in.readInt(); // magic
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        Map<Integer, String> utf8 = new HashMap<>();
        List<Integer> classNameIndices = new java.util.ArrayList<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8.put(i, in.readUTF());
                case 7 -> classNameIndices.add(in.readUnsignedShort());
                case 8, 16, 19, 20 -> in.readUnsignedShort();
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++; // long and double take two slots
                }
                case 15 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        Set<String> names = new TreeSet<>();
        for (int idx : classNameIndices) {
            names.add(utf8.get(idx));
        }
        return names;
    }

    @Test
    void kernelsReferOnlyToMathAndThemselves() throws IOException {
        for (Class<?> c : KERNELS) {
            Set<String> refs = referencedClasses(classBytes(c));
            refs.remove(c.getName().replace('.', '/'));
            refs.remove("java/lang/Object"); // the superclass
            refs.remove("java/lang/Math");
            refs.remove("dagmoe/kernels/Parallel");
            refs.remove("dagmoe/kernels/KernelMath"); // the shared helpers, held to the same rules below
            // primitive array types ([F, [I, [D) appear in stack map frames
            refs.removeIf(n -> n.length() == 2 && n.charAt(0) == '[' && "ZBCSIJFD".indexOf(n.charAt(1)) >= 0);
            assertTrue(refs.isEmpty(), c.getSimpleName() + " refers to " + refs
                    + ": kernels may use only primitive arrays and java.lang.Math (no objects, exceptions or library calls)");
        }
    }

    /** The helpers the kernels share: static, over primitives, no objects or library calls, so TornadoVM inlines them. */
    @Test
    void sharedKernelHelpersFollowTheKernelRules() throws IOException {
        Class<?> c = KernelMath.class;
        assertTrue(Modifier.isFinal(c.getModifiers()), "KernelMath should be final");
        for (Method m : c.getDeclaredMethods()) {
            if (m.isSynthetic()) {
                continue;
            }
            String sig = "KernelMath." + m.getName() + Arrays.toString(m.getParameterTypes());
            assertTrue(Modifier.isStatic(m.getModifiers()), sig + " is not static");
            assertTrue(m.getReturnType().isPrimitive() && m.getReturnType() != boolean.class, sig + " must return void or a number");
            for (Class<?> p : m.getParameterTypes()) {
                assertTrue((p.isPrimitive() && p != boolean.class) || (p.isArray() && p.getComponentType().isPrimitive()),
                        sig + ": parameter type " + p.getSimpleName() + " is not a number or a primitive array");
            }
        }
        for (Field f : c.getDeclaredFields()) {
            int mod = f.getModifiers();
            assertTrue(Modifier.isStatic(mod) && Modifier.isFinal(mod) && f.getType().isPrimitive(),
                    "KernelMath." + f.getName() + ": only primitive constants");
        }
        Set<String> refs = referencedClasses(classBytes(c));
        refs.removeAll(Set.of("dagmoe/kernels/KernelMath", "java/lang/Object", "java/lang/Math"));
        refs.removeIf(n -> n.length() == 2 && n.charAt(0) == '[' && "ZBCSIJFD".indexOf(n.charAt(1)) >= 0);
        assertTrue(refs.isEmpty(), "KernelMath refers to " + refs);
    }

    @Test
    void referencedClassesSeesALibraryCall() throws IOException {
        // the check above must be able to fail: this test class itself refers to many classes
        Set<String> refs = referencedClasses(classBytes(KernelReadinessTest.class));
        assertTrue(refs.contains("java/util/List"), refs.toString());
    }
}
