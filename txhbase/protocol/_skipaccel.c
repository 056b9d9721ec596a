/*
 * Optional accelerator for txhbase.protocol.skipper.BinarySkipper.
 *
 * advance(buf, pos, stack, pending, limit, max_depth) -> (pos, pending, stack)
 *
 * Walks a Thrift binary message from a skipper state exactly as the
 * pure-Python loop in skipper.py does, but only through input that loop would
 * accept: it stops (returning the state reached) at the end of the message, at
 * the end of the data, and BEFORE anything the Python loop would reject (a
 * negative or over-limit length, an unknown type, nesting too deep). The
 * Python loop then resumes from that state and makes every decision that
 * matters (complete, wait, or which error), so behaviour is identical with or
 * without this module; it only makes the valid path fast.
 *
 * State, as in skipper.py: pos (bytes of buf consumed), pending (the type of
 * a value whose bytes have not all arrived, or None), stack: a list of
 * [0] (struct), [1, elem_type, remaining] (list/set) or
 * [2, key_type, value_type, remaining_keys_and_values] (map).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define K_STRUCT 0
#define K_LIST 1
#define K_MAP 2

#define T_STOP 0
#define T_STRING 11
#define T_STRUCT 12
#define T_MAP 13
#define T_SET 14
#define T_LIST 15

#define MAX_FRAMES 1024

typedef struct {
    int kind;
    int a;          /* list: element type; map: key type */
    int b;          /* map: value type */
    long long n;    /* remaining elements (map: keys and values) */
} Frame;

static int FIXED[256];
static int VALID[256];

static inline long long rd32(const unsigned char *p) {
    int32_t v = (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                          ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
    return (long long)v;
}

static int load_stack(PyObject *stack, Frame *st, Py_ssize_t *depth, Py_ssize_t cap) {
    Py_ssize_t n = PyList_GET_SIZE(stack), i;
    if (n > cap) {
        PyErr_SetString(PyExc_ValueError, "skipper stack too deep");
        return -1;
    }
    for (i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(stack, i);
        Py_ssize_t len;
        if (!PyList_Check(e) || (len = PyList_GET_SIZE(e)) < 1) {
            PyErr_SetString(PyExc_TypeError, "bad skipper stack entry");
            return -1;
        }
        st[i].kind = (int)PyLong_AsLong(PyList_GET_ITEM(e, 0));
        st[i].a = st[i].b = 0;
        st[i].n = 0;
        if (st[i].kind == K_LIST && len == 3) {
            st[i].a = (int)PyLong_AsLong(PyList_GET_ITEM(e, 1));
            st[i].n = PyLong_AsLongLong(PyList_GET_ITEM(e, 2));
        } else if (st[i].kind == K_MAP && len == 4) {
            st[i].a = (int)PyLong_AsLong(PyList_GET_ITEM(e, 1));
            st[i].b = (int)PyLong_AsLong(PyList_GET_ITEM(e, 2));
            st[i].n = PyLong_AsLongLong(PyList_GET_ITEM(e, 3));
        } else if (st[i].kind != K_STRUCT) {
            PyErr_SetString(PyExc_TypeError, "bad skipper stack entry");
            return -1;
        }
        if (PyErr_Occurred())
            return -1;
        if (st[i].a < 0 || st[i].a > 255 || st[i].b < 0 || st[i].b > 255) {
            PyErr_SetString(PyExc_ValueError, "bad type in skipper stack entry");
            return -1;
        }
    }
    *depth = n;
    return 0;
}

static PyObject *dump_stack(const Frame *st, Py_ssize_t depth) {
    PyObject *out = PyList_New(depth);
    Py_ssize_t i;
    if (out == NULL)
        return NULL;
    for (i = 0; i < depth; i++) {
        PyObject *e;
        if (st[i].kind == K_STRUCT)
            e = Py_BuildValue("[i]", K_STRUCT);
        else if (st[i].kind == K_LIST)
            e = Py_BuildValue("[iiL]", K_LIST, st[i].a, st[i].n);
        else
            e = Py_BuildValue("[iiiL]", K_MAP, st[i].a, st[i].b, st[i].n);
        if (e == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, e);
    }
    return out;
}

static PyObject *advance(PyObject *self, PyObject *args) {
    PyObject *bufobj, *stack, *pending_obj, *new_stack;
    Py_ssize_t pos, depth = 0, max_depth;
    long long limit;
    int vt;
    Py_buffer view;
    Frame st[MAX_FRAMES];

    if (!PyArg_ParseTuple(args, "OnO!OLn", &bufobj, &pos, &PyList_Type, &stack,
                          &pending_obj, &limit, &max_depth))
        return NULL;
    if (max_depth > MAX_FRAMES)
        max_depth = MAX_FRAMES;
    if (pending_obj == Py_None) {
        vt = -1;
    } else {
        long v = PyLong_AsLong(pending_obj);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (v < 0 || v > 255) {
            PyErr_SetString(PyExc_ValueError, "bad pending type");
            return NULL;
        }
        vt = (int)v;
    }
    if (load_stack(stack, st, &depth, MAX_FRAMES) < 0)
        return NULL;
    if (PyObject_GetBuffer(bufobj, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    {
        const unsigned char *b = (const unsigned char *)view.buf;
        const long long end = (long long)view.len;
        long long p = pos;
        if (p < 0 || p > end)
            p = end; /* nothing to do: the Python loop will sort it out */
        for (;;) {
            if (vt < 0) {
                Frame *top;
                if (depth == 0)
                    break; /* message complete */
                top = &st[depth - 1];
                if (top->kind == K_STRUCT) {
                    int t;
                    if (p >= end)
                        break;
                    t = b[p];
                    if (t == T_STOP) {
                        p += 1;
                        depth--;
                        continue;
                    }
                    if (p + 3 > end)
                        break;
                    p += 3;
                    vt = t;
                } else if (top->kind == K_LIST) {
                    if (top->n <= 0) {
                        depth--;
                        continue;
                    }
                    top->n--;
                    vt = top->a;
                } else {
                    long long rem = top->n;
                    if (rem <= 0) {
                        depth--;
                        continue;
                    }
                    top->n = rem - 1;
                    vt = (rem & 1) ? top->b : top->a;
                }
            }
            /* one value of type vt at p; stop before anything Python rejects */
            {
                int size = FIXED[vt];
                if (size) {
                    if (p + size > end)
                        break;
                    p += size;
                } else if (vt == T_STRING) {
                    long long n;
                    if (p + 4 > end)
                        break;
                    n = rd32(b + p);
                    if (n < 0 || n > limit || p + 4 + n > end)
                        break;
                    p += 4 + n;
                } else if (vt == T_STRUCT) {
                    if (depth >= max_depth)
                        break;
                    st[depth].kind = K_STRUCT;
                    st[depth].a = st[depth].b = 0;
                    st[depth].n = 0;
                    depth++;
                } else if (vt == T_LIST || vt == T_SET) {
                    int et, es;
                    long long n;
                    if (p + 5 > end)
                        break;
                    et = b[p];
                    n = rd32(b + p + 1);
                    if (!VALID[et] || n < 0)
                        break;
                    es = FIXED[et];
                    if (n > limit || n * es > limit)
                        break;
                    if (es) {
                        if (p + 5 + n * es > end)
                            break;
                        p += 5 + n * es;
                    } else {
                        if (depth >= max_depth)
                            break;
                        p += 5;
                        st[depth].kind = K_LIST;
                        st[depth].a = et;
                        st[depth].b = 0;
                        st[depth].n = n;
                        depth++;
                    }
                } else if (vt == T_MAP) {
                    int kt, et, ks, es;
                    long long n;
                    if (p + 6 > end)
                        break;
                    kt = b[p];
                    et = b[p + 1];
                    n = rd32(b + p + 2);
                    if (!VALID[kt] || !VALID[et] || n < 0)
                        break;
                    ks = FIXED[kt];
                    es = FIXED[et];
                    if (n > limit || (ks && es && n * (ks + es) > limit))
                        break;
                    if (ks && es) {
                        if (p + 6 + n * (ks + es) > end)
                            break;
                        p += 6 + n * (ks + es);
                    } else {
                        if (depth >= max_depth)
                            break;
                        p += 6;
                        st[depth].kind = K_MAP;
                        st[depth].a = kt;
                        st[depth].b = et;
                        st[depth].n = 2 * n;
                        depth++;
                    }
                } else {
                    break; /* unknown type: Python raises */
                }
            }
            vt = -1;
        }
        pos = (Py_ssize_t)p;
    }
    PyBuffer_Release(&view);
    new_stack = dump_stack(st, depth);
    if (new_stack == NULL)
        return NULL;
    if (vt < 0)
        return Py_BuildValue("nON", pos, Py_None, new_stack);
    return Py_BuildValue("niN", pos, vt, new_stack);
}

static PyMethodDef methods[] = {
    {"advance", advance, METH_VARARGS,
     "advance(buf, pos, stack, pending, limit, max_depth) -> (pos, pending, stack)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_skipaccel",
    "Optional C walk of Thrift binary messages for txhbase's skipper.", -1, methods,
};

PyMODINIT_FUNC PyInit__skipaccel(void) {
    int t;
    for (t = 0; t < 256; t++) {
        FIXED[t] = 0;
        VALID[t] = 0;
    }
    FIXED[2] = 1;  /* bool */
    FIXED[3] = 1;  /* byte */
    FIXED[4] = 8;  /* double */
    FIXED[6] = 2;  /* i16 */
    FIXED[8] = 4;  /* i32 */
    FIXED[10] = 8; /* i64 */
    for (t = 0; t < 256; t++)
        VALID[t] = FIXED[t] != 0;
    VALID[T_STRING] = VALID[T_STRUCT] = VALID[T_MAP] = VALID[T_SET] = VALID[T_LIST] = 1;
    return PyModule_Create(&module);
}
