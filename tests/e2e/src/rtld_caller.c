#include <cblas.h>
double run_caller(int reps){ double a[4]={1,2,3,4},b[4]={1,0,0,1},c[4]={0};
 for(int i=0;i<reps;i++) cblas_dgemm(CblasColMajor,CblasNoTrans,CblasNoTrans,2,2,2,1.0,a,2,b,2,0.0,c,2); return c[0]+c[1]+c[2]+c[3];}
