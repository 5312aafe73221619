/* Quote structs -> Arrow columns, for `marketmon/store/columns.py`.
 *
 * The store takes its decoded quotes (msgspec structs, one type per run)
 * apart into one column per field. In Python that is a comprehension per
 * field plus polars reading every value back out of a list: ~0.4 us a
 * quote, more than decoding it. Here it is one pass over the structs,
 * reading every field straight from its slot, into buffers that polars
 * takes without a copy through the Arrow C data interface
 * (https://arrow.apache.org/docs/format/CDataInterface.html): `Columns`
 * as each message arrives, `take` for a whole run at once (text fields too).
 *
 * take(quotes, descriptors, kinds, rows) -> [(schema capsule, array capsule)]
 *   quotes       a list of structs of one type
 *   descriptors  that type's member descriptors of the fields wanted
 *   kinds        one letter per field: d float64, q int64, ? bool, s utf-8,
 *                r a symbol looked up in `rows` (a RowIndex) as uint32
 *   None is null; a symbol not in `rows` is null; any other value of the
 *   wrong type is a TypeError (decoding validated the types: a mismatch is a
 *   bug, never a silent zero).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#define ARROW_FLAG_NULLABLE 2

/* What one array owns: up to three buffers (validity, offsets or data, data). */
typedef struct {
    const void *buffers[3];
} Owned;

static void release_array(struct ArrowArray *array) {
    Owned *owned = (Owned *)array->private_data;
    for (int i = 0; i < 3; i++) free((void *)owned->buffers[i]);
    free(owned);
    array->release = NULL;
}

static void release_schema(struct ArrowSchema *schema) { schema->release = NULL; }

static void schema_capsule_free(PyObject *capsule) {
    struct ArrowSchema *schema = PyCapsule_GetPointer(capsule, "arrow_schema");
    if (schema != NULL && schema->release != NULL) schema->release(schema);
    free(schema);
}

static void array_capsule_free(PyObject *capsule) {
    struct ArrowArray *array = PyCapsule_GetPointer(capsule, "arrow_array");
    if (array != NULL && array->release != NULL) array->release(array);
    free(array);
}

_Static_assert(sizeof(long) == 8, "int64 columns read Python ints as long");

/* RowIndex: symbol -> row in the store's frame, for the column pass.
 *
 * A dict lookup of a freshly decoded symbol costs ~90 ns here (its hash is
 * computed, then the key it matches is read from wherever it lives). This
 * table keys on the symbol's UTF-8 bytes, held in the table itself, so a
 * lookup reads the (hot) decoded text and, mostly, one slot of a table
 * small enough to stay in the cache. Symbols longer than KEY_MAX bytes are
 * not held: they come back as misses and the store places them from its
 * dict. The store adds every row it adds to its dict here too; only symbols
 * that are valid codes get a row, so a feed cannot flood the table.
 */
#define KEY_MAX 11 /* "600000.SH" is 9 bytes, "00700.HK" 8: a slot is 16 bytes, a 10,000-symbol table 256 KB */

typedef struct {
    uint32_t row;
    uint8_t length; /* 0: empty slot */
    char key[KEY_MAX];
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    size_t mask; /* capacity - 1, a power of two less one */
    size_t used;
} RowIndex;

static PyTypeObject RowIndexType;

static inline uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

static const char *utf8_of(PyObject *s, Py_ssize_t *n) {
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *n = PyUnicode_GET_LENGTH(s);
        return (const char *)PyUnicode_DATA(s);
    }
    return PyUnicode_AsUTF8AndSize(s, n);
}

/* The symbol's row; -1 if it has none here; -2 with an exception set. */
static int64_t index_find(RowIndex *index, PyObject *symbol) {
    Py_ssize_t n;
    const char *s = utf8_of(symbol, &n);
    if (s == NULL) return -2;
    if (n == 0 || n > KEY_MAX || index->slots == NULL) return -1;
    for (size_t at = hash_bytes(s, (size_t)n) & index->mask;; at = (at + 1) & index->mask) {
        Slot *slot = &index->slots[at];
        if (slot->length == 0) return -1;
        if (slot->length == n && memcmp(slot->key, s, (size_t)n) == 0) return slot->row;
    }
}

static void index_put(Slot *slots, size_t mask, const char *s, size_t n, uint32_t row) {
    for (size_t at = hash_bytes(s, n) & mask;; at = (at + 1) & mask) {
        Slot *slot = &slots[at];
        if (slot->length == 0 || (slot->length == n && memcmp(slot->key, s, n) == 0)) {
            slot->row = row;
            slot->length = (uint8_t)n;
            memcpy(slot->key, s, n);
            return;
        }
    }
}

static PyObject *index_add(RowIndex *self, PyObject *args) {
    PyObject *symbol, *number;
    if (!PyArg_ParseTuple(args, "UO!", &symbol, &PyLong_Type, &number)) return NULL;
    unsigned long row = PyLong_AsUnsignedLong(number); /* raises on a negative or too big a number */
    if (row == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    if (row > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "row index above 2**32");
        return NULL;
    }
    Py_ssize_t n;
    const char *s = utf8_of(symbol, &n);
    if (s == NULL) return NULL;
    if (n == 0 || n > KEY_MAX) Py_RETURN_FALSE; /* not held: a miss, placed from the store's dict */
    if (10 * (self->used + 1) > 7 * (self->mask + 1) || self->slots == NULL) { /* keep the load under 0.7 */
        size_t capacity = self->slots == NULL ? 1024 : 2 * (self->mask + 1);
        Slot *slots = calloc(capacity, sizeof *slots);
        if (slots == NULL) return PyErr_NoMemory();
        if (self->slots != NULL)
            for (size_t i = 0; i <= self->mask; i++)
                if (self->slots[i].length)
                    index_put(slots, capacity - 1, self->slots[i].key, self->slots[i].length, self->slots[i].row);
        free(self->slots);
        self->slots = slots;
        self->mask = capacity - 1;
    }
    int64_t before = index_find(self, symbol);
    index_put(self->slots, self->mask, s, (size_t)n, (uint32_t)row);
    if (before < 0) self->used++;
    Py_RETURN_TRUE;
}

static PyObject *index_get(RowIndex *self, PyObject *symbol) {
    if (!PyUnicode_Check(symbol)) {
        PyErr_SetString(PyExc_TypeError, "a symbol is a str");
        return NULL;
    }
    int64_t row = index_find(self, symbol);
    if (row == -2) return NULL;
    if (row == -1) Py_RETURN_NONE;
    return PyLong_FromLongLong(row);
}

static void index_dealloc(RowIndex *self) {
    free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t index_len(RowIndex *self) { return (Py_ssize_t)self->used; }

static PyMethodDef index_methods[] = {
    {"add", (PyCFunction)index_add, METH_VARARGS, "add(symbol, row) -> whether it is held (longer symbols are not)."},
    {"get", (PyCFunction)index_get, METH_O, "get(symbol) -> row or None."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods index_sequence = {.sq_length = (lenfunc)index_len};

static PyTypeObject RowIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "marketmon.store._columns.RowIndex",
    .tp_basicsize = sizeof(RowIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)index_dealloc,
    .tp_methods = index_methods,
    .tp_as_sequence = &index_sequence,
    .tp_doc = "symbol -> row, keyed on the symbol's UTF-8 bytes.",
};

static inline void set_bit(uint8_t *bits, Py_ssize_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* The (schema, array) capsule pair of one column; takes ownership of `owned`. */
static PyObject *capsules(const char *format, Py_ssize_t length, Py_ssize_t nulls, int n_buffers, Owned *owned) {
    struct ArrowSchema *schema = calloc(1, sizeof *schema);
    struct ArrowArray *array = calloc(1, sizeof *array);
    if (schema == NULL || array == NULL) {
        free(schema);
        free(array);
        for (int i = 0; i < 3; i++) free((void *)owned->buffers[i]);
        free(owned);
        return PyErr_NoMemory();
    }
    if (nulls == 0) {  /* no validity bitmap: every value is there */
        free((void *)owned->buffers[0]);
        owned->buffers[0] = NULL;
    }
    schema->format = format;
    schema->flags = ARROW_FLAG_NULLABLE;
    schema->release = release_schema;
    array->length = length;
    array->null_count = nulls;
    array->n_buffers = n_buffers;
    array->buffers = owned->buffers;
    array->release = release_array;
    array->private_data = owned;
    PyObject *s = PyCapsule_New(schema, "arrow_schema", schema_capsule_free);
    if (s == NULL) {
        release_array(array);
        free(array);
        free(schema);
        return NULL;
    }
    PyObject *a = PyCapsule_New(array, "arrow_array", array_capsule_free);
    if (a == NULL) {
        release_array(array);
        free(array);
        Py_DECREF(s);
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, s, a);
    Py_DECREF(s);
    Py_DECREF(a);
    return pair;
}

static int wrong_type(PyObject *value, const char *want) {
    PyErr_Format(PyExc_TypeError, "expected %s, got %.100s", want, Py_TYPE(value)->tp_name);
    return -1;
}

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

/* A fixed-width column being filled: float64, int64, uint32 rows or bit-packed bool. */
typedef struct {
    char kind;
    Py_ssize_t offset;
    Py_ssize_t nulls;
    Py_ssize_t mark; /* nulls before the append in progress, to roll back to */
    Owned *owned;
    uint8_t *valid;
    void *data;
} Fixed;

static int fixed_alloc(Fixed *c, Py_ssize_t n) {
    size_t width = c->kind == 'd' || c->kind == 'q' ? 8 : c->kind == 'r' ? 4 : 0;
    size_t bitmap = (size_t)n / 8 + 1;
    c->owned = calloc(1, sizeof *c->owned);
    c->valid = calloc(bitmap, 1);
    c->data = width ? calloc(width, (size_t)n + 1) : calloc(bitmap, 1);
    if (c->owned == NULL || c->valid == NULL || c->data == NULL) return -1;
    c->owned->buffers[0] = c->valid;
    c->owned->buffers[1] = c->data;
    return 0;
}

static void fixed_free(Fixed *c) {
    free(c->owned);
    free(c->valid);
    free(c->data);
    c->owned = NULL;
    c->valid = c->data = NULL;
    c->nulls = 0;
}

/* Quote i's value of column c; -1 with an exception set on a value of the wrong type. */
static int fixed_put(Fixed *c, Py_ssize_t i, PyObject *v, PyObject *rows) {
    if (v == NULL || v == Py_None) {
        c->nulls++;
        return 0;
    }
    switch (c->kind) {
    case 'd':
        if (PyFloat_CheckExact(v)) ((double *)c->data)[i] = PyFloat_AS_DOUBLE(v);
        else if (PyLong_CheckExact(v)) {
            double x = PyLong_AsDouble(v);
            if (x == -1.0 && PyErr_Occurred()) return -1;
            ((double *)c->data)[i] = x;
        } else return wrong_type(v, "float");
        break;
    case 'q': {
        if (!PyLong_CheckExact(v)) return wrong_type(v, "int");
        long x = PyLong_AsLong(v); /* 64-bit (see the static assert); AsLongLong takes a slow path on 3.11 */
        if (x == -1 && PyErr_Occurred()) return -1;
        ((int64_t *)c->data)[i] = x;
        break;
    }
    case '?':
        if (v == Py_True) set_bit(c->data, i);
        else if (v != Py_False) return wrong_type(v, "bool");
        break;
    case 'r': {
        if (!PyUnicode_CheckExact(v)) return wrong_type(v, "str");
        int64_t row = index_find((RowIndex *)rows, v);
        if (row < 0) {
            if (row == -2) return -1;
            c->nulls++;
            return 0;
        }
        ((uint32_t *)c->data)[i] = (uint32_t)row;
        break;
    }
    }
    set_bit(c->valid, i);
    return 0;
}

/* Every fixed-width column in one pass over the quotes: each struct (and the
 * values it holds, allocated next to it by the decoder) is read once, while it
 * is in the cache, instead of once per field. */
static int fixed_columns(PyObject **items, Py_ssize_t n, Fixed *cols, Py_ssize_t count, PyObject *rows) {
    for (Py_ssize_t c = 0; c < count; c++)
        if (fixed_alloc(&cols[c], n) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t c = 0; c < count; c++)
            if (fixed_put(&cols[c], i, SLOT(items[i], cols[c].offset), rows) < 0) return -1;
    return 0;
}

static PyObject *fixed_capsules(Fixed *c, Py_ssize_t n) {
    const char *format = c->kind == 'd' ? "g" : c->kind == 'q' ? "l" : c->kind == 'r' ? "I" : "b";
    PyObject *pair = capsules(format, n, c->nulls, 2, c->owned); /* owns the buffers now, also on failure */
    c->owned = NULL;
    c->valid = c->data = NULL;
    return pair;
}

/* The slot offset and owner type of a struct field's member descriptor. */
static int member_offset(PyObject *d, PyTypeObject **type, Py_ssize_t *offset) {
    if (!Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyErr_SetString(PyExc_TypeError, "descriptors must be member descriptors");
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)d)->d_member;
    if (member->type != T_OBJECT_EX && member->type != T_OBJECT) {
        PyErr_SetString(PyExc_TypeError, "descriptors must be object slots");
        return -1;
    }
    *type = PyDescr_TYPE(d);
    *offset = member->offset;
    return 0;
}

/* One utf-8 column: validity, int32 offsets, bytes. */
static PyObject *string_column(PyObject **items, Py_ssize_t n, Py_ssize_t offset) {
    size_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = SLOT(items[i], offset);
        if (v == NULL || v == Py_None) continue;
        if (!PyUnicode_Check(v)) return wrong_type(v, "str"), NULL;
        Py_ssize_t size;
        if (PyUnicode_AsUTF8AndSize(v, &size) == NULL) return NULL;
        total += (size_t)size;
    }
    if (total > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "string column above 2 GiB");
        return NULL;
    }
    Owned *owned = calloc(1, sizeof *owned);
    uint8_t *valid = calloc((size_t)n / 8 + 1, 1);
    int32_t *offsets = malloc(sizeof(int32_t) * ((size_t)n + 1));
    char *bytes = malloc(total + 1);
    if (owned == NULL || valid == NULL || offsets == NULL || bytes == NULL) {
        free(owned);
        free(valid);
        free(offsets);
        free(bytes);
        return PyErr_NoMemory();
    }
    owned->buffers[0] = valid;
    owned->buffers[1] = offsets;
    owned->buffers[2] = bytes;
    Py_ssize_t nulls = 0;
    int32_t at = 0;
    offsets[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = SLOT(items[i], offset);
        if (v == NULL || v == Py_None) {
            nulls++;
        } else {
            Py_ssize_t size;
            const char *utf8 = PyUnicode_AsUTF8AndSize(v, &size);  /* cached by the first pass */
            memcpy(bytes + at, utf8, (size_t)size);
            at += (int32_t)size;
            set_bit(valid, i);
        }
        offsets[i + 1] = at;
    }
    return capsules("u", n, nulls, 3, owned);
}

static PyObject *take(PyObject *module, PyObject *args) {
    PyObject *quotes, *descriptors, *rows;
    const char *kinds;
    Py_ssize_t n_kinds;
    if (!PyArg_ParseTuple(args, "O!O!s#O!", &PyList_Type, &quotes, &PyTuple_Type, &descriptors, &kinds, &n_kinds,
                          &RowIndexType, &rows))
        return NULL;
    Py_ssize_t fields = PyTuple_GET_SIZE(descriptors);
    if (fields != n_kinds) {
        PyErr_SetString(PyExc_ValueError, "one kind per descriptor");
        return NULL;
    }
    /* A tuple of the quotes, owned here: a finalizer run by an allocation below
     * cannot change or free what is being read. */
    PyObject *held = PyList_AsTuple(quotes);
    if (held == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    PyObject **items = &PyTuple_GET_ITEM(held, 0);
    PyTypeObject *type = NULL;
    Py_ssize_t *offsets = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(fields + 1));
    if (offsets == NULL) {
        Py_DECREF(held);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t f = 0; f < fields; f++) {
        PyTypeObject *owner;
        if (member_offset(PyTuple_GET_ITEM(descriptors, f), &owner, &offsets[f]) < 0) {
            PyMem_Free(offsets);
            Py_DECREF(held);
            return NULL;
        }
        if (type != NULL && owner != type) {
            PyMem_Free(offsets);
            Py_DECREF(held);
            PyErr_SetString(PyExc_TypeError, "descriptors of one type only");
            return NULL;
        }
        type = owner;
    }
    /* The slots are only where the descriptors say for instances of exactly their type. */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (type == NULL || Py_TYPE(items[i]) != type) {
            PyMem_Free(offsets);
            Py_DECREF(held);
            PyErr_SetString(PyExc_TypeError, "every quote must be of the descriptors' type");
            return NULL;
        }
    }
    PyObject *out = PyList_New(fields);
    Fixed *fixed = PyMem_Calloc((size_t)fields + 1, sizeof *fixed);
    Py_ssize_t *fixed_at = PyMem_Calloc((size_t)fields + 1, sizeof *fixed_at);
    Py_ssize_t count = 0;
    if (out == NULL || fixed == NULL || fixed_at == NULL) {
        if (out != NULL) PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t f = 0; f < fields; f++) {
        char kind = kinds[f];
        if (kind == 's') {
            PyObject *column = string_column(items, n, offsets[f]);
            if (column == NULL) goto fail;
            PyList_SET_ITEM(out, f, column);
        } else if (kind == 'd' || kind == 'q' || kind == '?' || kind == 'r') {
            fixed[count].kind = kind;
            fixed[count].offset = offsets[f];
            fixed_at[count++] = f;
        } else {
            PyErr_SetString(PyExc_ValueError, "an unknown column kind (d, q, ?, s or r)");
            goto fail;
        }
    }
    if (fixed_columns(items, n, fixed, count, rows) < 0) goto fail;
    for (Py_ssize_t c = 0; c < count; c++) {
        PyObject *column = fixed_capsules(&fixed[c], n);
        if (column == NULL) goto fail;
        PyList_SET_ITEM(out, fixed_at[c], column);
    }
    PyMem_Free(fixed);
    PyMem_Free(fixed_at);
    PyMem_Free(offsets);
    Py_DECREF(held);
    return out;
fail:
    if (fixed != NULL)
        for (Py_ssize_t c = 0; c < count; c++) fixed_free(&fixed[c]);
    PyMem_Free(fixed);
    PyMem_Free(fixed_at);
    PyMem_Free(offsets);
    Py_XDECREF(out);
    Py_DECREF(held);
    return NULL;
}

/* Columns: the same columns, filled as quotes arrive.
 *
 * take() at flush reads structs decoded up to a flush interval earlier: a
 * batch of a million quotes is ~250 MB of Python objects kept alive, read
 * back cold. Columns.append() takes each message apart right after it is
 * decoded, while its structs are in the cache, and the structs are freed at
 * once, so the decoder reuses their memory. Symbols without a row yet are
 * kept as (position, symbol) in `misses`, for the store to place at flush.
 *
 *   Columns(descriptors, kinds, rows[, hint])  kinds: d q ? r only (no text);
 *                                       hint: quotes to make room for at first
 *   .append(quotes)                     a list of structs of the type
 *   .export() -> ([(schema, array)], misses)   and starts empty again
 */
typedef struct {
    PyObject_HEAD
    PyTypeObject *type;
    PyObject *descriptors;
    PyObject *rows;
    PyObject *misses; /* list of (position, symbol) */
    Py_ssize_t count; /* fields */
    Py_ssize_t length, capacity, hint; /* hint: the first allocation, in quotes */
    Fixed *cols;
    Py_ssize_t row_col; /* the 'r' column, or -1 */
    int busy;           /* inside append or export */
} Columns;

static void columns_clear_buffers(Columns *self) {
    for (Py_ssize_t c = 0; c < self->count; c++) fixed_free(&self->cols[c]);
    self->length = self->capacity = 0;
}

static void columns_dealloc(Columns *self) {
    if (self->cols != NULL) columns_clear_buffers(self);
    PyMem_Free(self->cols);
    Py_XDECREF(self->type);
    Py_XDECREF(self->descriptors);
    Py_XDECREF(self->rows);
    Py_XDECREF(self->misses);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int columns_init(Columns *self, PyObject *args, PyObject *kwds) {
    PyObject *descriptors, *rows;
    const char *kinds;
    Py_ssize_t n_kinds, hint = 4096;
    if (!PyArg_ParseTuple(args, "O!s#O!|n", &PyTuple_Type, &descriptors, &kinds, &n_kinds, &RowIndexType, &rows,
                          &hint))
        return -1;
    if (self->cols != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Columns is initialised once");
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(descriptors);
    if (count != n_kinds || count == 0) {
        PyErr_SetString(PyExc_ValueError, "one kind per descriptor, at least one");
        return -1;
    }
    /* Everything is checked and built first: a failed __init__ leaves the object unusable, not half set. */
    PyTypeObject *type = NULL;
    Py_ssize_t row_col = -1;
    Fixed *cols = PyMem_Calloc((size_t)count, sizeof *cols);
    if (cols == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t c = 0; c < count; c++) {
        PyTypeObject *owner;
        Py_ssize_t offset;
        char kind = kinds[c];
        if (member_offset(PyTuple_GET_ITEM(descriptors, c), &owner, &offset) < 0) goto fail;
        if (type != NULL && owner != type) {
            PyErr_SetString(PyExc_TypeError, "descriptors of one type only");
            goto fail;
        }
        if (kind != 'd' && kind != 'q' && kind != '?' && kind != 'r') {
            PyErr_SetString(PyExc_ValueError, "a kind that cannot be appended (d, q, ? or r only)");
            goto fail;
        }
        type = owner;
        if (kind == 'r') row_col = c;
        cols[c].kind = kind;
        cols[c].offset = offset;
    }
    PyObject *misses = PyList_New(0);
    if (misses == NULL) goto fail;
    Py_INCREF(type);
    self->type = type;
    Py_INCREF(descriptors);
    self->descriptors = descriptors;
    Py_INCREF(rows);
    self->rows = rows;
    self->misses = misses;
    self->cols = cols;
    self->count = count;
    self->row_col = row_col;
    self->hint = hint < 64 ? 64 : hint;
    return 0;
fail:
    PyMem_Free(cols);
    return -1;
}

/* Whether the object may be used now: initialised, and not inside one of its own
 * calls (a garbage-collector finalizer run by an allocation could call back in). */
static int columns_usable(Columns *self) {
    if (self->misses == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Columns is not initialised");
        return 0;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Columns is in use (re-entered)");
        return 0;
    }
    return 1;
}

static int grow(Fixed *c, Py_ssize_t old, Py_ssize_t capacity) {
    size_t width = c->kind == 'd' || c->kind == 'q' ? 8 : c->kind == 'r' ? 4 : 0;
    size_t old_bitmap = (size_t)old / 8 + 1, bitmap = (size_t)capacity / 8 + 1;
    uint8_t *valid = realloc(c->valid, bitmap);
    if (valid == NULL) return -1;
    c->valid = valid;
    memset(valid + old_bitmap, 0, bitmap - old_bitmap);
    void *data = realloc(c->data, width ? width * ((size_t)capacity + 1) : bitmap);
    if (data == NULL) return -1;
    c->data = data;
    if (!width) memset((uint8_t *)data + old_bitmap, 0, bitmap - old_bitmap);
    if (old == 0) { /* fresh buffers: the first bitmap byte too */
        valid[0] = 0;
        if (!width) ((uint8_t *)data)[0] = 0;
    }
    return 0;
}

static PyObject *columns_append(Columns *self, PyObject *quotes) {
    if (!columns_usable(self)) return NULL;
    if (!PyList_Check(quotes)) {
        PyErr_SetString(PyExc_TypeError, "quotes must be a list");
        return NULL;
    }
    /* A tuple of the quotes, owned here: a finalizer run by an allocation below
     * cannot change or free what is being read. */
    PyObject *held = PyList_AsTuple(quotes);
    if (held == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    PyObject **items = &PyTuple_GET_ITEM(held, 0);
    for (Py_ssize_t i = 0; i < n; i++)
        if (Py_TYPE(items[i]) != self->type) {
            Py_DECREF(held);
            PyErr_SetString(PyExc_TypeError, "every quote must be of the descriptors' type");
            return NULL;
        }
    self->busy = 1;
    Py_ssize_t misses_before = PyList_GET_SIZE(self->misses);
    if (self->length + n > self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity : self->hint;
        while (capacity < self->length + n) capacity *= 2;
        for (Py_ssize_t c = 0; c < self->count; c++)
            if (grow(&self->cols[c], self->capacity, capacity) < 0) {
                PyErr_NoMemory();
                goto fail;
            }
        self->capacity = capacity;
    }
    for (Py_ssize_t c = 0; c < self->count; c++) self->cols[c].mark = self->cols[c].nulls;
    Py_ssize_t at = self->length;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        for (Py_ssize_t c = 0; c < self->count; c++) {
            Fixed *col = &self->cols[c];
            Py_ssize_t nulls = col->nulls;
            PyObject *value = SLOT(item, col->offset);
            if (fixed_put(col, at + i, value, self->rows) < 0) goto fail;
            if (c == self->row_col && col->nulls != nulls && value != NULL && value != Py_None) {
                PyObject *miss = Py_BuildValue("(nO)", at + i, value);
                if (miss == NULL || PyList_Append(self->misses, miss) < 0) {
                    Py_XDECREF(miss);
                    goto fail;
                }
                Py_DECREF(miss);
            }
        }
    }
    self->length += n;
    self->busy = 0;
    Py_DECREF(held);
    Py_RETURN_NONE;
fail:
    /* Leave the columns as they were before this list: its values past `length` are
     * overwritten by the next append; its nulls and misses are taken back. */
    for (Py_ssize_t c = 0; c < self->count; c++) {
        Fixed *col = &self->cols[c];
        col->nulls = col->mark;
        if (col->valid == NULL) continue;
        for (Py_ssize_t i = self->length; i < self->capacity && i < self->length + n; i++) {
            col->valid[i >> 3] &= (uint8_t)~(1u << (i & 7));
            if (col->kind == '?') ((uint8_t *)col->data)[i >> 3] &= (uint8_t)~(1u << (i & 7));
        }
    }
    PyObject *error_type, *error_value, *error_tb;
    PyErr_Fetch(&error_type, &error_value, &error_tb);
    if (PyList_SetSlice(self->misses, misses_before, PyList_GET_SIZE(self->misses), NULL) < 0)
        PyErr_Clear(); /* cannot fail when shrinking; the first error is the one to report */
    PyErr_Restore(error_type, error_value, error_tb);
    self->busy = 0;
    Py_DECREF(held);
    return NULL;
}

static PyObject *columns_export(Columns *self, PyObject *unused) {
    if (!columns_usable(self)) return NULL;
    self->busy = 1;
    PyObject *out = PyList_New(self->count);
    PyObject *misses = PyList_New(0);
    if (out == NULL || misses == NULL) goto fail;
    Py_ssize_t n = self->length;
    for (Py_ssize_t c = 0; c < self->count; c++) {
        Fixed *col = &self->cols[c];
        if (col->valid == NULL) {  /* never grown: empty buffers */
            if (fixed_alloc(col, 0) < 0) {
                PyErr_NoMemory();
                goto fail;
            }
        } else if (col->owned == NULL) {
            col->owned = calloc(1, sizeof *col->owned);
            if (col->owned == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            col->owned->buffers[0] = col->valid;
            col->owned->buffers[1] = col->data;
        }
        PyObject *pair = fixed_capsules(col, n);
        col->nulls = 0;
        if (pair == NULL) goto fail;
        PyList_SET_ITEM(out, c, pair);
    }
    self->length = self->capacity = 0;
    PyObject *result = Py_BuildValue("(NO)", out, self->misses); /* steals out */
    Py_SETREF(self->misses, misses);
    self->busy = 0;
    return result;
fail: /* out of memory: the batch is lost, the object stays usable */
    columns_clear_buffers(self);
    if (PyList_SetSlice(self->misses, 0, PyList_GET_SIZE(self->misses), NULL) < 0) PyErr_Clear();
    Py_XDECREF(out);
    Py_XDECREF(misses);
    self->busy = 0;
    if (!PyErr_Occurred()) PyErr_NoMemory();
    return NULL;
}

static Py_ssize_t columns_len(Columns *self) { return self->length; }

static PyMethodDef columns_methods[] = {
    {"append", (PyCFunction)columns_append, METH_O, "Take a list of quote structs in."},
    {"export", (PyCFunction)columns_export, METH_NOARGS, "([(schema, array)] per field, misses); start empty."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods columns_sequence = {.sq_length = (lenfunc)columns_len};

static PyTypeObject ColumnsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "marketmon.store._columns.Columns",
    .tp_basicsize = sizeof(Columns),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)columns_init,
    .tp_dealloc = (destructor)columns_dealloc,
    .tp_methods = columns_methods,
    .tp_as_sequence = &columns_sequence,
    .tp_doc = "Quote structs -> Arrow columns, filled as they arrive.",
};

static PyMethodDef methods[] = {
    {"take", take, METH_VARARGS, "Quote structs -> [(arrow_schema, arrow_array) capsules] per field."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_columns", NULL, -1, methods};

PyMODINIT_FUNC PyInit__columns(void) {
    if (PyType_Ready(&ColumnsType) < 0 || PyType_Ready(&RowIndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddType(m, &ColumnsType) < 0 || PyModule_AddType(m, &RowIndexType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
