#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static size_t CS = 256<<10; static int NCH = 64;
static int mode; static char *path;
struct job { char *base; };
static int gfd; static char *fbase; static void prep(char *b){
  if (mode==4||mode==5||mode==6) { static char z[256<<10]; pwrite(gfd, z, CS, b - fbase); }
  if (mode==5) madvise(b, CS, MADV_POPULATE_WRITE);
  if (mode==6) { volatile char s=0; for(size_t i=0;i<CS;i+=4096) s+= ((volatile char*)b)[i]; }
  if (mode==1||mode==2) madvise(b, CS, MADV_POPULATE_WRITE);
  if (mode==2) { volatile char s=0; for(size_t i=0;i<CS;i+=4096) s+= ((volatile char*)b)[i]; }
  if (mode==3) { for(size_t i=0;i<CS;i+=4096) ((volatile char*)b)[i]=0; }
}
static char *bases[1024]; static volatile int ready[1024];
static void *helper(void*a){ for(int i=0;i<NCH;i++){ prep(bases[i]); __atomic_store_n(&ready[i],1,__ATOMIC_RELEASE);} return 0;}
int main(int argc,char**argv){
  mode=atoi(argv[1]); path=argv[2]; int inthread = argc>3;
  int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0600);
  gfd=fd; if(mode<4) posix_fallocate(fd,0,CS*NCH); else ftruncate(fd,CS*NCH);
  fbase=mmap(0,CS*NCH,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0); for(int i=0;i<NCH;i++) bases[i]=fbase+(size_t)i*CS;
  double t0=now(); 
  pthread_t th; if(!inthread) pthread_create(&th,0,helper,0); else { for(int i=0;i<NCH;i++){prep(bases[i]);ready[i]=1;} }

  if(!inthread) pthread_join(th,0);
  double t1=now();
  double w0=now();
  for(int i=0;i<NCH;i++){ while(!__atomic_load_n(&ready[i],__ATOMIC_ACQUIRE)); char*p=bases[i]; for(size_t o=0;o+48<=CS;o+=48){ memset(p+o+1,7,47); __atomic_store_n(p+o,1,__ATOMIC_RELEASE);} }
  double w1=now();
  size_t recs = NCH*(CS/48);
  printf("mode %d: prep %.1f ns/page (wall), write %.1f ns/record\n", mode, (t1-t0)/(NCH*CS/4096)*1e9, (w1-w0)/recs*1e9);
  unlink(path); return 0;
}
