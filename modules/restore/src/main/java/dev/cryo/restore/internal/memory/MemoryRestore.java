package dev.cryo.restore.internal.memory;

import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.cryo.images.ImageStore;
import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.ProcMaps;

/**
 * Builds a task's address space inside a puppet, step by step: the puppet's vDSO group parked, the stub's
 * mappings gone ({@link PuppetSpace}), the dumped mappings made ({@link Vmas}) and filled ({@link PageFill}),
 * protected, advised and locked, the vDSO group moved to where it was ({@link VdsoGroup}), and the mm's
 * bounds and executable set ({@link MmMap}).
 *
 * @param area     the trampoline's address, and {@code parked} where the vDSO group waits after it
 * @param vdsoSpan the size of the vDSO group
 */
public record MemoryRestore(long area, long parked, long vdsoSpan) {
    /** Opens, inside a task, the memfd that a mapping names (its file id) with the mapping's open flags. */
    @FunctionalInterface
    public interface MemfdOpener {
        int open(int fileId, int flags);
    }

    /**
     * The address space of process {@code pid} in puppet {@code p}, from its {@code mm} and its {@code pages}. A child (of
     * {@code parent}, whose pages are {@code parentPages}; both null for the root) keeps the private anonymous mappings it inherited from its restored
     * parent, pages shared. Shared anonymous objects are filled once per tree ({@code filledShared}).
     * In a lazy restore ({@code lazy} not null) the lazy pages are left out, and the task gets its userfaultfd.
     * Returns the pages written.
     */
    public long build(Puppet p, ImageStore store, PageSource pages, int pid, MmEntry mm, PageSource parentPages, MmEntry parent,
                      Map<Integer, String> paths, String exe, Set<Long> filledShared, MemfdOpener memfds, LazyProcess lazy) {
        List<VmaEntry> kept = parent == null ? List.of() : Inheritance.inherited(mm, parent);
        List<ProcMaps.Mapping> before = ProcMaps.of(p.pid());
        VdsoGroup.park(p, before, parked);
        PuppetSpace.clear(p, area, parked + vdsoSpan, kept);
        Vmas.prepareKept(p, kept);
        Vmas.map(p, mm, paths, kept, memfds::open);
        long written = PageFill.privatePages(p, pages, kept, parentPages, lazy);
        written += PageFill.shared(p, store, mm, kept, filledShared);
        Vmas.protect(p, mm);
        Vmas.advise(p, mm);
        Vmas.lock(p, mm);
        VdsoGroup.place(p, mm, before, parked);
        if (exe != null) {
            MmMap.set(p, mm, exe);
        }
        if (lazy != null) {
            lazy.createUffd(p); // while the task has cryo's credentials; registered at the handover
        }
        return written;
    }
}
