//===- TableForm.cpp - Constant tables that index arithmetic computes ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/TableForm.h"

using namespace tesa;

std::optional<TableForm> tesa::fitTableForm(llvm::ArrayRef<int32_t> table) {
  int64_t size = table.size();
  if (size == 0)
    return std::nullopt;
  TableForm form;
  form.base = table[0];
  form.step = size > 1 ? int64_t(table[1]) - table[0] : 0;
  // The period ends where the first arithmetic sequence does.
  form.period = size;
  for (int64_t i = 1; i < size; ++i)
    if (table[i] != form.base + form.step * i) {
      form.period = i;
      break;
    }
  // One sequence: periodStep continues it past the table.
  form.periodStep = form.period < size ? int64_t(table[form.period]) - form.base
                                       : form.step * form.period;
  for (int64_t i = form.period; i < size; ++i)
    if (table[i] != form.evaluate(i))
      return std::nullopt;
  return form;
}
