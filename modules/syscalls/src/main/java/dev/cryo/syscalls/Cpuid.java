package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import dev.cryo.bindings.Linux;

/**
 * The {@code cpuid} instruction, which no system call offers. Thirty bytes of x86-64 code, written by cryo
 * into a page of its own (read-only and executable once written) and called as a native function:
 * {@code void cpuid(int leaf, int subleaf, int out[4])} storing eax, ebx, ecx, edx.
 */
public final class Cpuid {
    private static final byte[] CODE = {
            0x53,                                   // push rbx (callee-saved; cpuid clobbers it)
            (byte) 0x89, (byte) 0xf8,               // mov eax, edi
            (byte) 0x89, (byte) 0xf1,               // mov ecx, esi
            0x49, (byte) 0x89, (byte) 0xd0,         // mov r8, rdx
            0x0f, (byte) 0xa2,                      // cpuid
            0x41, (byte) 0x89, 0x00,                // mov [r8], eax
            0x41, (byte) 0x89, 0x58, 0x04,          // mov [r8+4], ebx
            0x41, (byte) 0x89, 0x48, 0x08,          // mov [r8+8], ecx
            0x41, (byte) 0x89, 0x50, 0x0c,          // mov [r8+12], edx
            0x5b,                                   // pop rbx
            (byte) 0xc3,                            // ret
    };
    private static volatile MethodHandle handle;

    private Cpuid() {}

    /** eax, ebx, ecx, edx of {@code cpuid(leaf, subleaf)}. */
    public static int[] query(int leaf, int subleaf) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT, 4);
            code().invokeExact(leaf, subleaf, out);
            return out.toArray(ValueLayout.JAVA_INT);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cpuid call failed", t);
        }
    }

    private static MethodHandle code() {
        MethodHandle h = handle;
        if (h == null) {
            synchronized (Cpuid.class) {
                h = handle;
                if (h == null) {
                    // Mapped for the life of cryo: the handle may be called at any time.
                    Mapping page = Mapping.anonymous(Page.SIZE);
                    page.segment().copyFrom(MemorySegment.ofArray(CODE));
                    Syscall.call("mprotect", Linux.__NR_mprotect(), page.address(), Page.SIZE, Linux.PROT_READ() | Linux.PROT_EXEC());
                    h = Linker.nativeLinker().downcallHandle(page.segment(),
                            FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                    handle = h;
                }
            }
        }
        return h;
    }
}
