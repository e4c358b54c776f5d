// OpenMPI for Swift. MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are
// macros over addresses of global structs, which Swift cannot import, so every call the project
// makes goes through one of these small wrappers. Only `Runtime/Collective.swift` calls them, and
// only in a process started by `mpirun` (a single process never initialises MPI).
#include <mpi.h>
#include <stdint.h>

/// MPI_Init_thread at MPI_THREAD_SERIALIZED (one thread at a time calls MPI: the training loop's);
/// returns the provided level, or -1 on failure.
static inline int vsc_mpi_init(void) {
    int provided = -1;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return -1;
    return provided;
}
static inline int vsc_mpi_initialized(void) { int f = 0; MPI_Initialized(&f); return f; }
static inline int vsc_mpi_finalized(void) { int f = 0; MPI_Finalized(&f); return f; }
static inline int vsc_mpi_finalize(void) { return MPI_Finalize(); }
static inline int vsc_mpi_rank(void) { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int vsc_mpi_size(void) { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline void vsc_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static inline int vsc_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

/// Blocking sums over every rank, in place.
static inline int vsc_mpi_allreduce_float(float *buf, int64_t count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int vsc_mpi_allreduce_double(double *buf, int64_t count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// Every rank's `count` 64-bit words, gathered in rank order into `out` (size × count words).
static inline int vsc_mpi_allgather_u64(const uint64_t *mine, uint64_t *out, int count) {
    return MPI_Allgather(mine, count, MPI_UINT64_T, out, count, MPI_UINT64_T, MPI_COMM_WORLD);
}

/// Rank 0's `count` bytes into every rank's `buf`.
static inline int vsc_mpi_bcast_bytes(void *buf, int64_t count) {
    return MPI_Bcast(buf, (int)count, MPI_BYTE, 0, MPI_COMM_WORLD);
}

/// A request slot: MPI_Request is a pointer in OpenMPI; Swift keeps it as opaque storage.
typedef struct { MPI_Request request; } vsc_mpi_request;

/// Non-blocking sum of `count` floats from `send` into `recv` (distinct buffers); completes in
/// `vsc_mpi_wait`. `vsc_mpi_test` lets the library progress it (returns 1 once complete).
static inline int vsc_mpi_iallreduce_float(const float *send, float *recv, int64_t count, vsc_mpi_request *r) {
    return MPI_Iallreduce(send, recv, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r->request);
}
static inline int vsc_mpi_test(vsc_mpi_request *r) {
    int done = 0;
    if (r->request == MPI_REQUEST_NULL) return 1;
    MPI_Test(&r->request, &done, MPI_STATUS_IGNORE);
    return done;
}
static inline int vsc_mpi_wait(vsc_mpi_request *r) {
    return MPI_Wait(&r->request, MPI_STATUS_IGNORE);
}
static inline void vsc_mpi_request_init(vsc_mpi_request *r) { r->request = MPI_REQUEST_NULL; }
