package dev.cryo.images;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.images.proto.CredsEntry;
import dev.cryo.images.proto.EventfdFileEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FifoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.GhostChunkEntry;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.ItimerEntry;
import dev.cryo.images.proto.Lsmtype;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.PipeEntry;
import dev.cryo.images.proto.PosixTimerEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.images.proto.RlimitEntry;
import dev.cryo.images.proto.RseqEntry;
import dev.cryo.images.proto.SaEntry;
import dev.cryo.images.proto.SeccompEntry;
import dev.cryo.images.proto.SeccompFilter;
import dev.cryo.images.proto.SeccompMode;
import dev.cryo.images.proto.SiginfoEntry;
import dev.cryo.images.proto.SignalQueueEntry;
import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.images.proto.SkShutdown;
import dev.cryo.images.proto.StatsEntry;
import dev.cryo.images.proto.InetSkEntry;
import dev.cryo.images.proto.IpOptsEntry;
import dev.cryo.images.proto.TcpStreamEntry;
import dev.cryo.images.proto.DumpStatsEntry;
import dev.cryo.images.proto.RestoreStatsEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.images.proto.TaskRlimitsEntry;
import dev.cryo.images.proto.TaskTimersEntry;
import dev.cryo.images.proto.TermiosEntry;
import dev.cryo.images.proto.ThreadCoreEntry;
import dev.cryo.images.proto.ThreadInfoX86;
import dev.cryo.images.proto.ThreadSasEntry;
import dev.cryo.images.proto.TimensEntry;
import dev.cryo.images.proto.Timespec;
import dev.cryo.images.proto.Timeval;
import dev.cryo.images.proto.TtyDataEntry;
import dev.cryo.images.proto.TtyFileEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.images.proto.TtyPtyEntry;
import dev.cryo.images.proto.TtyType;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.images.proto.UserX86FpregsEntry;
import dev.cryo.images.proto.UserX86RegsEntry;
import dev.cryo.images.proto.UserX86XsaveEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.images.proto.WinsizeEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A realistic image set of one small process (pid 4242, two threads, a pipe,
 * a FIFO, an eventfd, a unix socket and a pty open), shared by the tests.
 */
final class SampleImages {
    static final int PID = 4242;
    static final int THREAD = 4243;
    static final long RIP = 0x7f3a_1c2d_4e5fL;
    static final long RSP = 0x7ffd_5a6b_7c80L;
    static final long FS_BASE = 0x7f3a_1c00_0740L;
    static final long HEAP_START = 0x5600_0000_0000L;
    static final long STACK_START = 0x7ffd_5a00_0000L;
    static final int PIPE_INO = 81234;
    static final byte[] PIPE_DATA = "hello from a pipe\n".getBytes(StandardCharsets.US_ASCII);
    static final byte[] FIFO_DATA = {0, 1, 2, 3, (byte) 0xff};
    static final byte[] SK_DATA = "queued in a socket".getBytes(StandardCharsets.US_ASCII);
    static final byte[] GHOST_CONTENT = "contents of a deleted file".getBytes(StandardCharsets.US_ASCII);
    static final int PAGES = 3;
    static final String EXE = "/usr/bin/sleep";

    /** One image: its kind, id (ignored for kinds without), entries, and payload after some entries. */
    record Sample(ImageKind kind, long id, List<Message> entries, Map<Integer, byte[]> payloads) {
        String fileName() {
            return kind.hasId() ? kind.fileName(id) : kind.fileName();
        }

        void writeTo(ImageStore store) {
            try (EntryWriter w = kind.hasId() ? store.openWriter(kind, id) : store.openWriter(kind)) {
                for (int i = 0; i < entries.size(); i++) {
                    w.write(entries.get(i));
                    byte[] payload = payloads.get(i);
                    if (payload != null) {
                        w.writePayload(payload);
                    }
                }
                w.commit();
            }
        }
    }

    private SampleImages() {}

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Every entry-holding kind, with realistic contents. */
    static List<Sample> all() {
        List<Sample> samples = new ArrayList<>();
        samples.add(one(ImageKind.INVENTORY, 0, inventory()));
        samples.add(one(ImageKind.PSTREE, 0, PstreeEntry.newBuilder()
                .setPid(PID).setPpid(1).setPgid(PID).setSid(PID).addThreads(PID).addThreads(THREAD).build()));
        samples.add(one(ImageKind.CORE, PID, core(PID, true)));
        samples.add(one(ImageKind.IDS, PID, ids()));
        samples.add(one(ImageKind.MM, PID, mm()));
        samples.add(new Sample(ImageKind.VMAS, PID, new ArrayList<>(mm().getVmasList()), Map.of()));
        samples.add(new Sample(ImageKind.PAGEMAP, PID, pagemap(), Map.of()));
        samples.add(new Sample(ImageKind.PAGEMAP_SHMEM, 7, List.of(
                PagemapHead.newBuilder().setPagesId(2).build(),
                PagemapEntry.newBuilder().setVaddr(0).setNrPages(1).setFlags(PagemapFlags.PE_PRESENT).build()), Map.of()));
        samples.add(new Sample(ImageKind.FDINFO, 1, fdinfo(), Map.of()));
        samples.add(new Sample(ImageKind.FILES, 0, files(), Map.of()));
        samples.add(one(ImageKind.FS, PID, FsEntry.newBuilder().setCwdId(10).setRootId(11).setUmask(022).build()));
        samples.add(new Sample(ImageKind.PIPES_DATA, 0,
                List.of(PipeDataEntry.newBuilder().setPipeId(PIPE_INO).setBytes(PIPE_DATA.length).setSize(65536).build()),
                Map.of(0, PIPE_DATA)));
        samples.add(new Sample(ImageKind.FIFO_DATA, 0,
                List.of(PipeDataEntry.newBuilder().setPipeId(PIPE_INO + 1).setBytes(FIFO_DATA.length).build()),
                Map.of(0, FIFO_DATA)));
        samples.add(new Sample(ImageKind.SK_QUEUES, 0,
                List.of(SkPacketEntry.newBuilder().setIdFor(12).setLength(SK_DATA.length).build(),
                        SkPacketEntry.newBuilder().setIdFor(13).setLength(FIFO_DATA.length).build()),
                Map.of(0, SK_DATA, 1, FIFO_DATA)));
        samples.add(new Sample(ImageKind.TCP_STREAM, 0x1234,
                List.of(TcpStreamEntry.newBuilder().setInqLen(SK_DATA.length).setInqSeq(1000).setOutqLen(FIFO_DATA.length)
                        .setOutqSeq(2000).setOptMask(7).setSndWscale(7).setMssClamp(65483).setRcvWscale(7).setTimestamp(123)
                        .setUnsqLen(0).setSndWl1(999).setSndWnd(65536).setMaxWindow(65536).setRcvWnd(65536).setRcvWup(1000).build()),
                Map.of(0, concat(SK_DATA, FIFO_DATA))));
        samples.add(one(ImageKind.TTY_INFO, 0, ttyInfo()));
        samples.add(one(ImageKind.TTY_DATA, 0, TtyDataEntry.newBuilder()
                .setTtyId(7).setData(ByteString.copyFromUtf8("typed ahead\n")).build()));
        samples.add(one(ImageKind.MEMFD_INODE, 0, MemfdInodeEntry.newBuilder()
                .setName("memfd:buffer").setUid(1000).setGid(1000).setSize(8192).setShmid(99)
                .setSeals(0x1).setInodeId(55).build())); // no mode: crit 3.17 drops that CRIU 4.2 field
        samples.add(new Sample(ImageKind.FILE_LOCKS, 0, List.of(
                FileLockEntry.newBuilder().setFlag(2).setType(1).setPid(PID).setFd(3).setStart(0).setLen(0).build(),
                FileLockEntry.newBuilder().setFlag(1).setType(0).setPid(PID).setFd(4).setStart(100).setLen(50).build()), Map.of()));
        samples.add(new Sample(ImageKind.GHOST_FILE, 0x1f, List.of(GhostFileEntry.newBuilder()
                .setUid(1000).setGid(1000).setMode(0100600).setDev(0x803).setIno(77)
                .setAtim(Timeval.newBuilder().setTvSec(1_700_000_000L).setTvUsec(5))
                .setMtim(Timeval.newBuilder().setTvSec(1_700_000_001L).setTvUsec(6))
                .setSize(GHOST_CONTENT.length).build()), Map.of(0, GHOST_CONTENT)));
        samples.add(new Sample(ImageKind.GHOST_FILE, 0x2a, List.of(
                GhostFileEntry.newBuilder().setUid(0).setGid(0).setMode(0100644).setChunks(true).setSize(1 << 20).build(),
                GhostChunkEntry.newBuilder().setOff(0).setLen(4).build(),
                GhostChunkEntry.newBuilder().setOff(4096).setLen(3).build()),
                Map.of(1, new byte[] {1, 2, 3, 4}, 2, new byte[] {5, 6, 7})));
        samples.add(one(ImageKind.SECCOMP, 0, SeccompEntry.newBuilder()
                .addSeccompFilters(SeccompFilter.newBuilder()
                        .setFilter(ByteString.copyFrom(new byte[] {6, 0, 0, 0, 0, 0, (byte) 0xff, 0x7f})).setFlags(0))
                .build()));
        samples.add(one(ImageKind.TIMENS, 3, TimensEntry.newBuilder()
                .setMonotonic(Timespec.newBuilder().setTvSec(100).setTvNsec(5))
                .setBoottime(Timespec.newBuilder().setTvSec(200).setTvNsec(6)).build()));
        samples.add(one(ImageKind.STATS_DUMP, 0, StatsEntry.newBuilder().setDump(DumpStatsEntry.newBuilder()
                .setFreezingTime(120).setFrozenTime(3400).setMemdumpTime(2100).setMemwriteTime(900)
                .setPagesScanned(300).setPagesSkippedParent(0).setPagesWritten(PAGES).setPagesLazy(0)).build()));
        samples.add(one(ImageKind.STATS_RESTORE, 0, StatsEntry.newBuilder().setRestore(RestoreStatsEntry.newBuilder()
                .setPagesCompared(0).setPagesSkippedCow(0).setForkingTime(50).setRestoreTime(4000)
                .setPagesRestored(PAGES)).build()));
        samples.add(one(ImageKind.REG_FILES, 0, regFile(10, "/", 0)));
        samples.add(one(ImageKind.PIPES, 0, pipe(20)));
        samples.add(one(ImageKind.FIFO, 0, FifoEntry.newBuilder().setId(21).setPipeId(PIPE_INO + 1).setRegfId(22).build()));
        samples.add(one(ImageKind.EVENTFD_FILE, 0, eventfd()));
        samples.add(one(ImageKind.UNIXSK, 0, unixSocket()));
        samples.add(one(ImageKind.INETSK, 0, inetSocket()));
        samples.add(one(ImageKind.TTY_FILES, 0, ttyFile()));
        samples.add(new Sample(ImageKind.SIGACT, PID, IntStream.range(0, 3)
                .mapToObj(i -> (Message) sigaction(i)).toList(), Map.of()));
        samples.add(new Sample(ImageKind.ITIMERS, PID, List.of(itimer(0), itimer(1), itimer(2)), Map.of()));
        samples.add(one(ImageKind.POSIX_TIMERS, PID, posixTimer()));
        samples.add(one(ImageKind.CREDS, PID, creds()));
        samples.add(new Sample(ImageKind.RLIMIT, PID, List.of(
                RlimitEntry.newBuilder().setCur(8 << 20).setMax(-1L).build(),
                RlimitEntry.newBuilder().setCur(1024).setMax(524288).build()), Map.of()));
        return samples;
    }

    /** Page data for pages-1.img: PAGES pages, each filled with its index. */
    static byte[] pages() {
        byte[] pages = new byte[PAGES * 4096];
        for (int i = 0; i < PAGES; i++) {
            Arrays.fill(pages, i * 4096, (i + 1) * 4096, (byte) (i + 1));
        }
        return pages;
    }

    static InventoryEntry inventory() {
        return InventoryEntry.newBuilder().setImgVersion(ImageMagic.IMAGES_V1_1).setFdinfoPerId(true)
                .setRootIds(ids()).setNsPerId(true).setRootCgSet(1).setLsmtype(Lsmtype.NO_LSM)
                .setDumpUptime(123_456_789L).build();
    }

    static TaskKobjIdsEntry ids() {
        return TaskKobjIdsEntry.newBuilder().setVmId(1).setFilesId(1).setFsId(1).setSighandId(1)
                .setPidNsId(2).setNetNsId(3).setIpcNsId(4).setUtsNsId(5).setMntNsId(6).setUserNsId(7)
                .setCgroupNsId(8).setTimeNsId(9).build();
    }

    static CoreEntry core(int tid, boolean leader) {
        UserX86RegsEntry regs = UserX86RegsEntry.newBuilder()
                .setR15(15).setR14(14).setR13(13).setR12(12).setBp(RSP + 0x40).setBx(1).setR11(0x246).setR10(0)
                .setR9(9).setR8(8).setAx(-4L).setCx(RIP).setDx(0).setSi(0).setDi(RSP + 0x10)
                .setOrigAx(230).setIp(RIP).setCs(0x33).setFlags(0x246).setSp(RSP).setSs(0x2b)
                .setFsBase(FS_BASE).setGsBase(0).setDs(0).setEs(0).setFs(0).setGs(0).build();
        UserX86FpregsEntry.Builder fpregs = UserX86FpregsEntry.newBuilder()
                .setCwd(0x37f).setSwd(0).setTwd(0).setFop(0).setRip(0).setRdp(0).setMxcsr(0x1f80).setMxcsrMask(0xffff);
        for (int i = 0; i < 32; i++) {
            fpregs.addStSpace(0);
        }
        for (int i = 0; i < 64; i++) {
            fpregs.addXmmSpace(i);
        }
        for (int i = 0; i < 24; i++) {
            fpregs.addPadding(0);
        }
        UserX86XsaveEntry.Builder xsave = UserX86XsaveEntry.newBuilder().setXstateBv(0x7);
        for (int i = 0; i < 64; i++) {
            xsave.addYmmhSpace(i * 3);
        }
        fpregs.setXsave(xsave);
        ThreadCoreEntry thread = ThreadCoreEntry.newBuilder()
                .setFutexRla(FS_BASE + 0x9e0).setFutexRlaLen(24).setSchedNice(0).setSchedPolicy(0).setSchedPrio(0)
                .setBlkSigset(0).setSas(ThreadSasEntry.newBuilder().setSsSp(0).setSsSize(0).setSsFlags(2))
                .setPdeathSig(0).setSignalsP(SignalQueueEntry.getDefaultInstance())
                .setCreds(creds()).setSeccompMode(SeccompMode.disabled).setComm("sleep")
                .setRseqEntry(RseqEntry.newBuilder().setRseqAbiPointer(FS_BASE + 0x1000).setRseqAbiSize(32)
                        .setSignature(0x53053053))
                .build();
        CoreEntry.Builder core = CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64)
                .setThreadInfo(ThreadInfoX86.newBuilder().setClearTidAddr(FS_BASE + 0x10).setGpregs(regs).setFpregs(fpregs))
                .setThreadCore(thread);
        if (leader) {
            TaskRlimitsEntry.Builder rlimits = TaskRlimitsEntry.newBuilder();
            for (int i = 0; i < 16; i++) {
                rlimits.addRlimits(RlimitEntry.newBuilder().setCur(-1L).setMax(-1L));
            }
            TaskCoreEntry.Builder tc = TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0)
                    .setFlags(0x400000).setBlkSigset(0).setComm("sleep")
                    .setTimers(TaskTimersEntry.newBuilder().setReal(itimer(0)).setVirt(itimer(1)).setProf(itimer(2))
                            .addPosix(posixTimer()))
                    .setRlimits(rlimits).setCgSet(1)
                    .setSignalsS(SignalQueueEntry.newBuilder().addSignals(SiginfoEntry.newBuilder()
                            .setSiginfo(ByteString.copyFrom(new byte[128]))))
                    .setLoginuid(-1).setOomScoreAdj(0).setChildSubreaper(false);
            for (int i = 0; i < 64; i++) {
                tc.addSigactions(sigaction(i));
            }
            core.setTc(tc).setIds(ids());
        }
        return core.build();
    }

    static MmEntry mm() {
        return MmEntry.newBuilder()
                .setMmStartCode(0x5555_5555_4000L).setMmEndCode(0x5555_5555_8000L)
                .setMmStartData(0x5555_5555_9000L).setMmEndData(0x5555_5555_a000L)
                .setMmStartStack(STACK_START + 0x1f000).setMmStartBrk(HEAP_START).setMmBrk(HEAP_START + 0x21000)
                .setMmArgStart(STACK_START + 0x1f100).setMmArgEnd(STACK_START + 0x1f120)
                .setMmEnvStart(STACK_START + 0x1f120).setMmEnvEnd(STACK_START + 0x1ffe0)
                .setExeFileId(12).addMmSavedAuxv(33).addMmSavedAuxv(0x7ffd_5a7f_e000L).addMmSavedAuxv(0).addMmSavedAuxv(0)
                .addVmas(vma(0x5555_5555_4000L, 0x5555_5555_8000L, 5, 0x2, VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_FILE_PRIVATE, 12))
                .addVmas(vma(HEAP_START, HEAP_START + 0x21000, 3, 0x22, VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_ANON_PRIVATE | VmaStatus.VMA_AREA_HEAP, -1))
                .addVmas(vma(STACK_START, STACK_START + 0x21000, 3, 0x122, VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_ANON_PRIVATE | VmaStatus.VMA_AREA_STACK, -1))
                .addVmas(vma(0x7ffd_5a7f_c000L, 0x7ffd_5a7f_e000L, 5, 0x22, VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_AREA_VDSO, -1))
                .setDumpable(1).setThpDisabled(false)
                .build();
    }

    static VmaEntry vma(long start, long end, int prot, int flags, int status, long fd) {
        return VmaEntry.newBuilder().setStart(start).setEnd(end).setPgoff(0).setShmid(0)
                .setProt(prot).setFlags(flags).setStatus(status).setFd(fd).setMadv(0).setFdflags(0).build();
    }

    static List<Message> pagemap() {
        return List.of(
                PagemapHead.newBuilder().setPagesId(1).build(),
                PagemapEntry.newBuilder().setVaddr(HEAP_START).setNrPages(2).setFlags(PagemapFlags.PE_PRESENT).build(),
                PagemapEntry.newBuilder().setVaddr(HEAP_START + 0x10000).setNrPages(4).setFlags(PagemapFlags.PE_PARENT).build(),
                PagemapEntry.newBuilder().setVaddr(STACK_START + 0x20000).setNrPages(1)
                        .setFlags(PagemapFlags.PE_PRESENT | PagemapFlags.PE_LAZY).build());
    }

    static List<Message> fdinfo() {
        return List.of(
                fd(0, 30, FdTypes.TTY), fd(1, 30, FdTypes.TTY), fd(2, 30, FdTypes.TTY),
                fd(3, 20, FdTypes.PIPE), fd(4, 21, FdTypes.FIFO), fd(5, 23, FdTypes.EVENTFD),
                fd(6, 24, FdTypes.UNIXSK), fd(7, 13, FdTypes.REG), fd(8, 25, FdTypes.MEMFD));
    }

    static FdinfoEntry fd(int fd, int id, FdTypes type) {
        return FdinfoEntry.newBuilder().setId(id).setFlags(fd > 2 ? 1 : 0).setType(type).setFd(fd).build();
    }

    static List<Message> files() {
        return List.of(
                file(FdTypes.REG, 10).setReg(regFile(10, "/", 0)).build(),
                file(FdTypes.REG, 11).setReg(regFile(11, "/", 0)).build(),
                file(FdTypes.REG, 12).setReg(regFile(12, EXE, 0)).build(),
                file(FdTypes.REG, 13).setReg(regFile(13, "/var/log/app.log", 01 | 02000)).build(),
                file(FdTypes.REG, 22).setReg(regFile(22, "/tmp/fifo", 0)).build(),
                file(FdTypes.PIPE, 20).setPipe(pipe(20)).build(),
                file(FdTypes.FIFO, 21).setFifo(FifoEntry.newBuilder().setId(21).setPipeId(PIPE_INO + 1).setRegfId(22)).build(),
                file(FdTypes.EVENTFD, 23).setEfd(eventfd()).build(),
                file(FdTypes.UNIXSK, 24).setUsk(unixSocket()).build(),
                file(FdTypes.TTY, 30).setTty(ttyFile()).build(),
                file(FdTypes.MEMFD, 25).setMemfd(MemfdFileEntry.newBuilder().setId(25).setFlags(02).setPos(0)
                        .setFown(fown()).setInodeId(55)).build());
    }

    static FileEntry.Builder file(FdTypes type, int id) {
        return FileEntry.newBuilder().setType(type).setId(id);
    }

    static RegFileEntry regFile(int id, String name, int flags) {
        return RegFileEntry.newBuilder().setId(id).setFlags(flags).setPos(0).setFown(fown()).setName(name)
                .setMntId(22).setSize(4096).setMode(0100644).build();
    }

    static PipeEntry pipe(int id) {
        return PipeEntry.newBuilder().setId(id).setPipeId(PIPE_INO).setFlags(01).setFown(fown()).build();
    }

    static EventfdFileEntry eventfd() {
        return EventfdFileEntry.newBuilder().setId(23).setFlags(02004002).setFown(fown()).setCounter(42).build();
    }

    static UnixSkEntry unixSocket() {
        return UnixSkEntry.newBuilder().setId(24).setIno(90001).setType(1).setState(1).setFlags(02)
                .setUflags(0).setBacklog(0).setPeer(90002).setFown(fown())
                .setOpts(SkOptsEntry.newBuilder().setSoSndbuf(212992).setSoRcvbuf(212992)
                        .setSoSndTmoSec(0).setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0))
                .setName(ByteString.copyFromUtf8("/run/app.sock")).setShutdown(SkShutdown.NONE)
                .setNsId(3).build();
    }

    static InetSkEntry inetSocket() {
        return InetSkEntry.newBuilder().setId(26).setIno(90003).setFamily(2).setType(1).setProto(6).setState(1)
                .setSrcPort(8080).setDstPort(41000).setFlags(02).setBacklog(0)
                .addSrcAddr(0x0100007f).addDstAddr(0x0100007f).setFown(fown())
                .setOpts(SkOptsEntry.newBuilder().setSoSndbuf(2626560).setSoRcvbuf(131072)
                        .setSoSndTmoSec(0).setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).setReuseaddr(true))
                .setIpOpts(IpOptsEntry.newBuilder().setFreebind(false)).setShutdown(SkShutdown.NONE).build();
    }

    static TtyInfoEntry ttyInfo() {
        TermiosEntry.Builder termios = TermiosEntry.newBuilder().setCIflag(0x500).setCOflag(0x5).setCCflag(0xbf)
                .setCLflag(0x8a3b).setCLine(0).setCIspeed(15).setCOspeed(15);
        for (int i = 0; i < 19; i++) {
            termios.addCCc(i);
        }
        return TtyInfoEntry.newBuilder().setId(7).setType(TtyType.PTY).setLocked(false).setExclusive(false)
                .setPacketMode(false).setSid(PID).setPgrp(PID).setRdev(0x8803)
                .setTermios(termios).setTermiosLocked(termios)
                .setWinsize(WinsizeEntry.newBuilder().setWsRow(24).setWsCol(80).setWsXpixel(0).setWsYpixel(0))
                .setPty(TtyPtyEntry.newBuilder().setIndex(3)).setDev(0x8803).setUid(1000).setGid(5).build();
    }

    static TtyFileEntry ttyFile() {
        return TtyFileEntry.newBuilder().setId(30).setTtyInfoId(7).setFlags(02).setFown(fown()).setRegfId(31).build();
    }

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    static SaEntry sigaction(int signal) {
        return SaEntry.newBuilder().setSigaction(signal == 1 ? 0x5555_5555_6000L : 0).setFlags(0x04000000)
                .setRestorer(0x7f3a_1c04_2520L).setMask(0).setCompatSigaction(false).setMaskExtended(0).build();
    }

    static ItimerEntry itimer(int which) {
        return ItimerEntry.newBuilder().setIsec(which).setIusec(0).setVsec(which * 2L).setVusec(500).build();
    }

    static PosixTimerEntry posixTimer() {
        return PosixTimerEntry.newBuilder().setItId(0).setClockId(1).setSiSigno(14).setItSigevNotify(0)
                .setSivalPtr(0).setOverrun(0).setIsec(1).setInsec(0).setVsec(0).setVnsec(999_000).build();
    }

    static CredsEntry creds() {
        return CredsEntry.newBuilder().setUid(1000).setGid(1000).setEuid(1000).setEgid(1000).setSuid(1000)
                .setSgid(1000).setFsuid(1000).setFsgid(1000)
                .addCapInh(0).addCapInh(0).addCapPrm(0).addCapPrm(0).addCapEff(0).addCapEff(0)
                .addCapBnd(0xffffffff).addCapBnd(0x1ff).setSecbits(0).addGroups(1000).addGroups(27).build();
    }

    private static Sample one(ImageKind kind, long id, Message entry) {
        return new Sample(kind, id, List.of(entry), Map.of());
    }

    /** The samples by file name. */
    static Map<String, Sample> byName() {
        Map<String, Sample> map = new LinkedHashMap<>();
        for (Sample s : all()) {
            map.put(s.fileName(), s);
        }
        return map;
    }
}
