/* Loads a BLAS user RTLD_LOCAL after start-up, as Python does with
 * extension modules: the shim must still find the real routine. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    double (*f)(int) = (double (*)(int))dlsym(h, "run_caller");
    printf("%g\n", f(atoi(argv[2])));
    return 0;
}
