/* gpu_fork.c - CUDA calls around a fork(): the parent's first CUDA call
 * starts NVML sampling (fake NVML); the child makes CUDA calls of its own
 * and exits; the parent waits, makes more, exits.  Prints "parent N" /
 * "child N" with the return code of each cudaDeviceSynchronize. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    printf("parent %d\n", (int)cudaDeviceSynchronize());
    fflush(stdout);
    struct timespec ts = { 0, 60 * 1000000 };
    nanosleep(&ts, NULL);               /* NVML samples a while */
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            printf("child %d\n", (int)cudaDeviceSynchronize());
        return 0;
    }
    int st;
    waitpid(pid, &st, 0);
    for (int i = 0; i < 2; i++)
        printf("parent %d\n", (int)cudaDeviceSynchronize());
    nanosleep(&ts, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
